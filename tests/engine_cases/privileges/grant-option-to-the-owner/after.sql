create table t (id int primary key, name text);
create view v as select id from t;
grant select, update on t to current_user with grant option;
grant select on v to current_user with grant option;
