create function zg() returns int language sql begin atomic select 1; end;
create function af() returns int language sql begin atomic select zg() + 1; end;
create function ag() returns int language sql return af() + zg();
