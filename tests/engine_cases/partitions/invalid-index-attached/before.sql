-- a partition index attached to an ON ONLY (invalid) partitioned index; in reverse (no DETACH in PostgreSQL) the partitioned index is dropped and created again ON ONLY
create table p (id int, k int) partition by list (k);
create table p1 partition of p for values in (1);
create table p2 partition of p for values in (2);
create index p_i on only p (id);
