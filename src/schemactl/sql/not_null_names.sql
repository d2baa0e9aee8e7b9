-- NOT NULL constraints by name (PostgreSQL 18 keeps them in pg_constraint as contype 'n';
-- earlier majors return no rows). pg_dump names any that differs from the default
-- (`<table>_<column>_not_null`), and a partition keeps its parent's names when detached, an
-- attached table its own, so a migration must rename what migra never looks at.
SELECT n.nspname AS schema,
       '"' || replace(n.nspname, '"', '""') || '"."' || replace(t.relname, '"', '""') || '"' AS table,
       a.attname AS column,
       c.conname AS name,
       c.conislocal AS local
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'n'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
