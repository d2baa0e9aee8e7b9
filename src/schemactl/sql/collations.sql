-- Every user-defined collation's definition. schemainspect reads collcollate as the locale,
-- which PostgreSQL 15+ leaves empty for ICU collations (their locale is in colliculocale,
-- renamed colllocale in 17): to_jsonb keeps this query valid across versions.
SELECT n.nspname AS schema,
       c.collname AS name,
       c.collprovider AS provider,
       c.collcollate AS lc_collate,
       c.collctype AS lc_ctype,
       coalesce(to_jsonb(c) ->> 'colllocale', to_jsonb(c) ->> 'colliculocale') AS icu_locale,
       c.collisdeterministic AS deterministic
FROM pg_collation c
JOIN pg_namespace n ON n.oid = c.collnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2
