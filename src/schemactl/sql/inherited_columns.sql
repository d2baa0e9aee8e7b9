-- Columns a table only inherits (not declared locally). schemainspect lists them with the
-- child's own columns, so migra would redeclare them and make them local.
SELECT n.nspname AS schema, c.relname AS table_name, a.attname AS column_name
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND NOT a.attislocal AND a.attinhcount > 0
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
