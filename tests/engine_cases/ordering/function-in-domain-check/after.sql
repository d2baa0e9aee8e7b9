create function zpos(v integer) returns boolean language sql immutable return v > 0;
create domain posint as integer check (zpos(value));
create table t (id integer primary key, n posint);
