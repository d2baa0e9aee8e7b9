-- The indexes that use one column of one table (in a key, an expression or a predicate), and
-- the constraint each backs, if any (engine/expand.py rebuilds them on a new column).
-- Parameters: %(table)s (a quoted relation name) and %(column)s.
SELECT ic.relname,
       pg_get_indexdef(i.indexrelid),
       k.contype,
       k.conname,
       coalesce(k.condeferrable, false),
       coalesce(k.condeferred, false)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = %(column)s
LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid
WHERE i.indrelid = to_regclass(%(table)s)
  AND (a.attnum = ANY (i.indkey::int2[])
       OR EXISTS (SELECT FROM pg_depend dep WHERE dep.classid = 'pg_class'::regclass
              AND dep.objid = i.indexrelid AND dep.refobjid = i.indrelid
              AND dep.refobjsubid = a.attnum))
ORDER BY ic.relname
