create table other (id int);
create type pair as (a int, b int);
create table t (p pair);
create function f(p pair) returns int language sql as 'select 1';
