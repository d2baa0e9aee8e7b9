create table p (id int not null, k int not null) partition by list (k);
create table p1 partition of p for values in (1);
create table p2 partition of p for values in (2);
create unique index p_u on p (id, k);
create table c (id int, k int, foreign key (id, k) references p (id, k));
