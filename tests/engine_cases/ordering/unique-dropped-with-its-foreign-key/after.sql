create table p (id int);
create table c (pid int);
