-- A composite type is created before the table and function that use it, and dropped after them.
create table other (id int);
