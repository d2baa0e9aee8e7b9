-- Per-column settings that migra ignores: statistics target, storage mode (where it differs
-- from the type's default), attribute options (n_distinct, n_distinct_inherited) and
-- compression. `default_storage` is what SET STORAGE goes back to.
SELECT n.nspname AS schema,
       '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"' AS table,
       CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'table' END AS kind,
       a.attname AS column,
       CASE WHEN a.attstattarget >= 0 THEN a.attstattarget END AS statistics,
       CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage END AS storage,
       t.typstorage AS default_storage,
       coalesce(a.attoptions, '{}') AS options,
       nullif(a.attcompression, '') AS compression
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
WHERE c.relkind IN ('r', 'p', 'm')
  AND a.attnum > 0 AND NOT a.attisdropped
  AND (a.attstattarget >= 0 OR a.attstorage <> t.typstorage OR a.attoptions IS NOT NULL
       OR a.attcompression <> '')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
ORDER BY 2, 4
