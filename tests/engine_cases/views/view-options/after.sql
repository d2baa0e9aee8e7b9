CREATE TABLE t (id int);
CREATE VIEW v WITH (security_barrier = true) AS SELECT id FROM t WHERE id > 0 WITH CHECK OPTION;
