-- Every domain with its definition: schemainspect reads domains but migra never creates,
-- alters or drops them.
SELECT n.nspname AS schema,
       (pg_identify_object('pg_type'::regclass, t.oid, 0)).identity AS identity,
       format_type(t.typbasetype, t.typtypmod) AS base_type,
       CASE WHEN t.typcollation <> b.typcollation
            THEN (pg_identify_object('pg_collation'::regclass, t.typcollation, 0)).identity END AS collation,
       t.typdefault AS default_expr,
       t.typnotnull AS not_null,
       coalesce((SELECT array_agg(quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid) ORDER BY c.conname)
                 FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c'), '{}') AS checks
FROM pg_type t
JOIN pg_type b ON b.oid = t.typbasetype
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e
                  WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid AND e.deptype = 'e')
ORDER BY 1, 2
