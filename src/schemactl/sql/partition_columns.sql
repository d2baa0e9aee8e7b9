-- Partitions' columns whose NOT NULL or default is not their partitioned table's (an override,
-- `PARTITION OF p (v NOT NULL, d DEFAULT 'x')`), with the partitioned table's own: schemainspect
-- takes a partition's columns for its table's, so migra never compares them.
SELECT n.nspname AS schema,
       '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"' AS table,
       a.attname AS column, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default,
       pa.attnotnull AS parent_not_null, pg_get_expr(pd.adbin, pd.adrelid) AS parent_default
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_inherits i ON i.inhrelid = c.oid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
LEFT JOIN pg_attrdef pd ON pd.adrelid = pa.attrelid AND pd.adnum = pa.attnum
WHERE c.relispartition AND a.attidentity = '' AND a.attgenerated = ''
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
  AND (a.attnotnull <> pa.attnotnull
       OR pg_get_expr(d.adbin, d.adrelid) IS DISTINCT FROM pg_get_expr(pd.adbin, pd.adrelid))
ORDER BY 1, 2, 3
