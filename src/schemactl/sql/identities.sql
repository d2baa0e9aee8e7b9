-- Identity columns' sequence options (START, INCREMENT, MINVALUE, MAXVALUE, CACHE, CYCLE):
-- migra writes `generated ... as identity` without them and never compares them.
SELECT n.nspname AS schema,
       quote_ident(n.nspname) || '.' || quote_ident(t.relname) AS table_name,
       quote_ident(a.attname) AS column_name,
       format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle
FROM pg_depend d
JOIN pg_sequence s ON s.seqrelid = d.objid
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'i'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
