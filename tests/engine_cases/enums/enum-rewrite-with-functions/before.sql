-- raw migra gets this wrong: functions over a rewritten enum block dropping the old type
CREATE TYPE e AS ENUM ('a', 'b');
CREATE FUNCTION f(x e) RETURNS e LANGUAGE sql AS 'select x';
CREATE TABLE t (x e);
CREATE VIEW v AS SELECT f('a') AS y;
