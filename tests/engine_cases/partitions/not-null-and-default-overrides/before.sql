-- a partition's own NOT NULL and default (PARTITION OF m (v NOT NULL, d DEFAULT …)): set, kept while the partitioned table's default changes, and on a new partition
create table m (id int, v int, d text default 'p') partition by range (id);
create table m1 partition of m for values from (0) to (10);
create table m2 partition of m (d default 'q') for values from (10) to (20);
