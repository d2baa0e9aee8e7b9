-- PostgreSQL's casts between types, by schema-qualified type name: the context a cast applies
-- in (i: implicit, a: assignment, e: explicit only) and how (f: function, b: binary coercible,
-- i: through text). ALTER COLUMN ... TYPE without USING needs an implicit or assignment cast.
WITH types AS (
    SELECT t.oid, n.nspname || '.' || t.typname AS name
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
)
SELECT s.name AS source, t.name AS target, c.castcontext AS context, c.castmethod AS method
FROM pg_cast c
JOIN types s ON s.oid = c.castsource
JOIN types t ON t.oid = c.casttarget
