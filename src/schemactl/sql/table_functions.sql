-- Functions that tables depend on directly: column defaults, generated columns, check
-- constraints, index expressions. migra creates functions after table changes and drops
-- them before, which fails for these.
SELECT DISTINCT n.nspname AS schema, n.nspname || '.' || p.proname AS name
FROM pg_depend d
JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND d.refobjid = p.oid
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE d.classid IN ('pg_attrdef'::regclass, 'pg_constraint'::regclass, 'pg_class'::regclass)
  AND d.deptype = 'n'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
