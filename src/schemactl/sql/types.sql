-- Types a column can have, except row types of tables (and their arrays): what each is built
-- on (a domain's base type and its typmod, an array's element type), its category, and whether
-- a domain constrains its values. Names are schema-qualified, so two databases compare by name.
SELECT tn.nspname || '.' || t.typname AS name,
       t.typtype AS kind,
       t.typcategory AS category,
       CASE WHEN t.typcategory = 'A' THEN en.nspname || '.' || e.typname END AS element,
       CASE WHEN t.typtype = 'd' THEN bn.nspname || '.' || b.typname END AS base,
       t.typtypmod AS base_typmod,
       t.typtype = 'd' AND (t.typnotnull OR EXISTS (
           SELECT 1 FROM pg_constraint k WHERE k.contypid = t.oid)) AS constrained
FROM pg_type t
JOIN pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_type e ON e.oid = t.typelem
LEFT JOIN pg_namespace en ON en.oid = e.typnamespace
LEFT JOIN pg_type b ON b.oid = t.typbasetype
LEFT JOIN pg_namespace bn ON bn.oid = b.typnamespace
WHERE NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.oid IN (t.typrelid, e.typrelid) AND r.relkind <> 'c')
