create function a_helper(x int) returns int language sql immutable return x + 1;
create function f(x int) returns int language sql immutable begin atomic select a_helper(x) * 2; end;
