-- One storage parameter removed: reset all that changed, set again those that stay.
CREATE TABLE t (id int) WITH (fillfactor = 70, autovacuum_enabled = false);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
ALTER TABLE t FORCE ROW LEVEL SECURITY;
CREATE MATERIALIZED VIEW mv WITH (fillfactor = 80) AS SELECT id FROM t;
