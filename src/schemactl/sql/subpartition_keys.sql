-- Partition keys of tables that are partitioned and are themselves partitions. schemainspect
-- has one field for both the bound and the key, and writes such a table as
-- `create table t (...) partition by FOR VALUES ...`, which is not SQL.
SELECT n.nspname AS schema,
       '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"' AS name,
       pg_get_partkeydef(c.oid) AS key
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'p' AND c.relispartition
ORDER BY 2
