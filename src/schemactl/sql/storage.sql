-- Storage parameters (WITH (fillfactor = 70, autovacuum_enabled = false, ...)) and FORCE ROW
-- LEVEL SECURITY of tables and materialized views: schemainspect reads neither reloptions nor
-- (usefully for migra) relforcerowsecurity.
SELECT n.nspname AS schema,
       (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity AS identity,
       CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'table' END AS kind,
       coalesce(c.reloptions, '{}') AS options,
       c.relforcerowsecurity AS force_rls
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND (c.reloptions IS NOT NULL OR c.relforcerowsecurity)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
