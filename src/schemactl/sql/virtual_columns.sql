-- PostgreSQL 18's virtual generated columns (attgenerated 'v'; none before 18), their tables
-- quoted as migra writes them: schemainspect writes every generated column `… stored`.
SELECT n.nspname AS schema,
       '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"' AS table,
       a.attname AS column
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attgenerated = 'v' AND NOT a.attisdropped
ORDER BY 1, 2, 3
