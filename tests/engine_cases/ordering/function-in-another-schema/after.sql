create schema zs;
create function zs.g() returns int language sql as 'select 1';
create function public.f() returns int language sql as 'select zs.g()';
