-- a SQL-standard function whose new body calls a function created with it: created first; in reverse, dropped after the body stops calling it
create function f(x int) returns int language sql immutable return x * 2;
