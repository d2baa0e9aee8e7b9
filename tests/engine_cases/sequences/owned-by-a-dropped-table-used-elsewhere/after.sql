create sequence a_id_seq as integer;
create table b (id int primary key default nextval('a_id_seq'));
