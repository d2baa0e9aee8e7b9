-- Storage parameters (WITH (fillfactor = 70, autovacuum_enabled = false, ...)), FORCE ROW
-- LEVEL SECURITY, and ROW LEVEL SECURITY on partitions, of tables and materialized views, and
-- views' options (security_barrier, security_invoker, and check_option, which is how WITH
-- CHECK OPTION is stored): migra handles none of them (it enables RLS on ordinary tables only).
SELECT n.nspname AS schema,
       (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity AS identity,
       CASE c.relkind WHEN 'm' THEN 'materialized view' WHEN 'v' THEN 'view' ELSE 'table' END AS kind,
       coalesce(c.reloptions, '{}') AS options,
       c.relforcerowsecurity AS force_rls,
       c.relispartition AND c.relrowsecurity AS partition_rls
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm', 'v')
  AND (c.reloptions IS NOT NULL OR c.relforcerowsecurity OR (c.relispartition AND c.relrowsecurity))
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
