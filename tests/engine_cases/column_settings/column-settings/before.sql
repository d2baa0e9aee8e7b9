-- raw migra gets this wrong
CREATE TABLE t (id int, body text);
CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;
