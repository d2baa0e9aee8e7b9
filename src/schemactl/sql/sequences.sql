-- Every sequence's options, which schemainspect does not read (see docs/engine-notes.md).
-- Identity sequences are left out: they belong to their column's identity definition.
SELECT n.nspname AS schema,
       c.relname AS name,
       format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart AS start,
       s.seqincrement AS increment,
       s.seqmin AS minvalue,
       s.seqmax AS maxvalue,
       s.seqcache AS cache,
       s.seqcycle AS cycle
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i'
  )
ORDER BY 1, 2
