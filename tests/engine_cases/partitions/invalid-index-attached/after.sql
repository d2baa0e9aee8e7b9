create table p (id int, k int) partition by list (k);
create table p1 partition of p for values in (1);
create table p2 partition of p for values in (2);
create index p_i on only p (id);
create index p1_i on p1 (id);
alter index p_i attach partition p1_i;
