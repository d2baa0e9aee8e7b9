-- a serial's sequence outliving its table, still used by another table's default: released before the drop
create table a (id serial primary key);
create table b (id int primary key default nextval('a_id_seq'));
