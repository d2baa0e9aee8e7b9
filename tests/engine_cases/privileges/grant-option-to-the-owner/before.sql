-- the owner's own grant option (its privileges are implicit, its ACL entry changes): granted, and only the option taken back
create table t (id int primary key, name text);
create view v as select id from t;
