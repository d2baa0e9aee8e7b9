create table a (id integer not null, code text not null);
create unique index a_code on a (code);
alter table a replica identity full;
create table b (id integer primary key, code text not null);
create unique index b_code on b (code);
alter table b replica identity using index b_code;
create table c (id integer primary key);
create table d (id integer primary key);
alter table d replica identity nothing;
