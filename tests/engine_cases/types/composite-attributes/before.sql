-- raw migra gets this wrong: ALTER TYPE ... ADD/DROP ATTRIBUTE while a table uses the type
CREATE TYPE pair AS (a int, b int);
CREATE TABLE t (p pair);
