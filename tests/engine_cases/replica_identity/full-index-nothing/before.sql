-- REPLICA IDENTITY (not diffed by migra): set after the table and its identity index exist, changed between FULL, USING INDEX and NOTHING, and back to DEFAULT.
create table a (id integer not null, code text not null);
create unique index a_code on a (code);
alter table a replica identity using index a_code;
create table b (id integer primary key);
alter table b replica identity full;
create table c (id integer primary key);
alter table c replica identity nothing;
