-- a partition's primary key dropped while the NOT NULL it implied stays (and back)
create table q (id int, k int) partition by list (k);
create table q1 partition of q (primary key (id)) for values in (1);
