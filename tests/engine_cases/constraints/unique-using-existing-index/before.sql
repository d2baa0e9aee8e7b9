-- A unique constraint made from an existing index: the way down keeps the index.
CREATE TABLE t (id int);
CREATE UNIQUE INDEX t_id ON t (id);
