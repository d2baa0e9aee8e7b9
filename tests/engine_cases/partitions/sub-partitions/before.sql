-- raw migra gets this wrong: a partition that is partitioned itself
CREATE TABLE m (k text, d date) PARTITION BY LIST (k);
