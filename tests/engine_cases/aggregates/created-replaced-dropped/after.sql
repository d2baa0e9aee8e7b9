create table t (n integer, x double precision);
create function add_sq(state bigint, v integer) returns bigint language sql immutable return state + v * v;
create function half(state bigint) returns numeric language sql immutable return state / 2.0;
create aggregate sum_sq(integer) (sfunc = add_sq, stype = bigint, initcond = '1', parallel = safe);
create aggregate half_sum_sq(integer) (sfunc = add_sq, stype = bigint, finalfunc = half, initcond = '0');
create aggregate top(integer) (sfunc = int4larger, stype = integer, sortop = >);
create aggregate running(integer) (sfunc = int4pl, stype = integer, msfunc = int4pl, minvfunc = int4mi, mstype = integer);
create aggregate pct(double precision order by double precision) (sfunc = ordered_set_transition, stype = internal, finalfunc = percentile_cont_float8_final);
create view v as select sum_sq(n) as total, half_sum_sq(n) as half from t;
