-- PostgreSQL's casts between types, by schema-qualified type name: the context a cast applies
-- in (i: implicit, a: assignment, e: explicit only) and how (f: function, b: binary coercible,
-- i: through text). ALTER COLUMN ... TYPE without USING needs an implicit or assignment cast.
SELECT sn.nspname || '.' || s.typname AS source,
       tn.nspname || '.' || t.typname AS target,
       c.castcontext AS context,
       c.castmethod AS method
FROM pg_cast c
JOIN pg_type s ON s.oid = c.castsource
JOIN pg_namespace sn ON sn.oid = s.typnamespace
JOIN pg_type t ON t.oid = c.casttarget
JOIN pg_namespace tn ON tn.oid = t.typnamespace
