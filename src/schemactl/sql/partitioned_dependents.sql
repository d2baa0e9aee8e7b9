-- Views and materialized views that read a partitioned table. schemainspect's dependency query
-- only considers relations of kind r, v, m, c and f, so it misses every one of these, and migra
-- then drops or alters a partitioned table without re-creating the views over it.
SELECT DISTINCT vn.nspname AS view_schema, v.relname AS view, tn.nspname AS table_schema, t.relname AS table
FROM pg_depend d
JOIN pg_rewrite rw ON rw.oid = d.objid
JOIN pg_class v ON v.oid = rw.ev_class
JOIN pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_class t ON t.oid = d.refobjid AND t.relkind = 'p'
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE d.classid = 'pg_rewrite'::regclass
  AND d.refclassid = 'pg_class'::regclass
  AND d.deptype = 'n'
  AND v.oid <> t.oid
ORDER BY 1, 2, 3, 4
