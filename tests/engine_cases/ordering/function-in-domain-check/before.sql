-- A function used in a domain's CHECK: the function is created before the domain and dropped after it.
create table t (id integer primary key);
