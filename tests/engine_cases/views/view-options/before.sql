-- raw migra gets this wrong
CREATE TABLE t (id int);
CREATE VIEW v AS SELECT id FROM t;
