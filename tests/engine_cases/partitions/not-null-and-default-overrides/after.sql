create table m (id int, v int, d text default 'pp') partition by range (id);
create table m1 partition of m (v not null, d default 'x') for values from (0) to (10);
create table m2 partition of m (d default 'q') for values from (10) to (20);
create table m3 partition of m (v not null) for values from (20) to (30);
