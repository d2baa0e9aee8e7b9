-- The columns each view reads, from the dependencies of its rewrite rule: what a change of a
-- table must leave alone for the view over it to stay as it is (kinds/views.py).
SELECT DISTINCT vn.nspname AS schema, v.relname AS view, tn.nspname AS table_schema,
       t.relname AS table, a.attname AS column
FROM pg_rewrite r
JOIN pg_class v ON v.oid = r.ev_class AND v.relkind = 'v'
JOIN pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
JOIN pg_class t ON t.oid = d.refobjid AND t.oid <> v.oid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE vn.nspname NOT IN ('pg_catalog', 'information_schema') AND vn.nspname NOT LIKE 'pg\_%'
ORDER BY 1, 2, 3, 4, 5
