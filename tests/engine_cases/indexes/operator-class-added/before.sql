-- an operator class (text_pattern_ops) added to an index's key: the index is rebuilt (migra compared no operator classes)
create table t (id int primary key, name text);
create index t_name on t (name);
