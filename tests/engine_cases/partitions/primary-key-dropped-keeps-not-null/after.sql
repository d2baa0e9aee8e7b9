create table q (id int, k int) partition by list (k);
create table q1 partition of q (id not null) for values in (1);
