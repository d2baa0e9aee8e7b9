-- a foreign key on a partitioned unique index: added once every partition index is attached, dropped before the index
create table p (id int not null, k int not null) partition by list (k);
create table p1 partition of p for values in (1);
create table c (id int, k int);
