create table zt (id int);
create function af(zt) returns int language sql as 'select $1.id';
