-- Row level security switched on a partition, and off again.
CREATE TABLE m (id int, d date) PARTITION BY RANGE (d);
CREATE TABLE m1 PARTITION OF m FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
