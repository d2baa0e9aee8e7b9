create function g() returns int language sql as 'select 1';
create function f() returns int language sql as 'select g()';
