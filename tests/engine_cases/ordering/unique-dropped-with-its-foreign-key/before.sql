-- the foreign key that needs a unique constraint goes before it, and comes back after it
create table p (id int, constraint p_u unique (id));
create table c (pid int references p (id));
