-- Functions that need other functions to exist when they are created: PostgreSQL records these
-- dependencies for SQL-standard bodies (BEGIN ATOMIC, RETURN expr), which it resolves at
-- creation. schemainspect reads none of them, and migra creates functions by name.
SELECT DISTINCT n.nspname AS schema,
       '"' || replace(n.nspname, '"', '""') || '"."' || replace(p.proname, '"', '""') || '"' AS function,
       '"' || replace(rn.nspname, '"', '""') || '"."' || replace(r.proname, '"', '""') || '"' AS uses
FROM pg_depend d
JOIN pg_proc p ON p.oid = d.objid
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_proc r ON r.oid = d.refobjid
JOIN pg_namespace rn ON rn.oid = r.pronamespace
WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_proc'::regclass
  AND d.deptype = 'n' AND d.objid <> d.refobjid
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
