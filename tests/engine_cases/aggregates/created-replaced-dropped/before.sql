-- Aggregates (not diffed by migra): created after their functions and before the views that call them, replaced in place while a view uses them, dropped before their functions.
create table t (n integer, x double precision);
create function add_sq(state bigint, v integer) returns bigint language sql immutable return state + v * v;
create aggregate sum_sq(integer) (sfunc = add_sq, stype = bigint, initcond = '0');
create aggregate old_total(integer) (sfunc = int4pl, stype = integer);
create view v as select sum_sq(n) as total from t;
