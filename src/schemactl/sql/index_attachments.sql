-- Partition indexes attached to a partitioned table's index. schemainspect lists both as
-- plain indexes, so migra creates them unattached and drops the attached one first.
SELECT n.nspname AS schema, pn.nspname AS parent_schema, p.relname AS parent_index,
       c.relname AS child_index, t.relname AS child_table
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid AND c.relkind IN ('i', 'I')
JOIN pg_index x ON x.indexrelid = c.oid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  -- indexes behind key constraints come with the constraint (sql/partition_clones.sql)
  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = c.oid AND k.contype IN ('p', 'u', 'x'))
ORDER BY 2, 3, 4
