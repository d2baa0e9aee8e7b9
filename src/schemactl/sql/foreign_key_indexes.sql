-- Each foreign key and the unique index it rests on (pg_constraint.conindid): a migration that
-- drops that index, or the constraint owning it, must drop the foreign key first and add it
-- back once the new key exists (kinds/constraints.py).
SELECT n.nspname AS schema, c.relname AS table, k.conname AS name,
       ni.nspname AS index_schema, i.relname AS index
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class i ON i.oid = k.conindid
JOIN pg_namespace ni ON ni.oid = i.relnamespace
WHERE k.contype = 'f' AND k.conparentid = 0
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1, 2, 3
