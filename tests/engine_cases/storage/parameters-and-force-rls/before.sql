-- Storage parameters of tables and materialized views, and FORCE ROW LEVEL SECURITY (migra diffs neither).
CREATE TABLE t (id int);
