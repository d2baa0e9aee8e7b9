-- A renamed table whose primary key keeps its old name: the old table (and its index) is dropped before the new index is created.
create table a (id integer primary key, v text);
