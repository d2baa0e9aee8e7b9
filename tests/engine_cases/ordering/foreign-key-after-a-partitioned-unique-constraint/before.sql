-- a foreign key on a unique constraint of a partitioned table (added without USING INDEX): added after it
create table p (id int not null, k int not null) partition by list (k);
create table p1 partition of p for values in (1);
create table c (id int, k int);
