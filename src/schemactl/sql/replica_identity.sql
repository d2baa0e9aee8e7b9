-- Tables whose REPLICA IDENTITY (what logical replication sends of an updated or deleted row)
-- is not the default. A table whose identity index is gone counts as default, as pg_dump
-- shows it: the setting went with the index.
SELECT n.nspname AS schema,
       '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"'
           AS "table",
       CASE c.relreplident WHEN 'n' THEN 'nothing' WHEN 'f' THEN 'full'
            ELSE format('using index %I', i.relname) END AS identity,
       CASE WHEN c.relreplident = 'i' THEN format('%s.%s', n.nspname, i.relname) END AS index
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index x ON x.indrelid = c.oid AND x.indisreplident
LEFT JOIN pg_class i ON i.oid = x.indexrelid
WHERE c.relkind IN ('r', 'p')
  AND c.relreplident IN ('n', 'f', 'i')
  AND (c.relreplident <> 'i' OR i.oid IS NOT NULL)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 2
