-- Every column of the tables rows can be inserted into (plain and partitioned tables, not the
-- partitions: rows reach them through their table), with what generating a value needs: the
-- type as written, its base type (a domain's, an array's element), typmod, enum labels, and
-- whether the column takes a value at all (identity and generated columns make their own).
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
       format_type(a.atttypid, a.atttypmod) AS type,
       e.typname AS base, e.typcategory AS category,
       CASE WHEN t.typcategory = 'A' OR (t.typtype = 'd' AND d.typcategory = 'A') THEN true
            ELSE false END AS is_array,
       CASE WHEN a.atttypmod >= 0 THEN a.atttypmod
            WHEN t.typtype = 'd' AND t.typtypmod >= 0 THEN t.typtypmod END AS typmod,
       a.attnotnull AS not_null,
       a.atthasdef AS has_default,
       a.attidentity <> '' OR a.attgenerated <> '' AS makes_its_own,
       ARRAY(SELECT enumlabel::text FROM pg_enum WHERE enumtypid = e.oid ORDER BY enumsortorder)
           AS labels,
       c.relkind = 'p' AS partitioned,
       a.attgenerated <> '' AS generated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
-- a domain's base type, then an array's element type
JOIN pg_type d ON d.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
JOIN pg_type e ON e.oid = CASE WHEN d.typcategory = 'A' AND d.typelem <> 0 THEN d.typelem
                               ELSE d.oid END
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1, 2, a.attnum
