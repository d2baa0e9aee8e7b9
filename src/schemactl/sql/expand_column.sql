-- One column of one table, as an expand/contract plan needs to know it (engine/expand.py):
-- its definition, and what would stop it from being copied into a new column and swapped.
-- Parameters: %(table)s (a quoted relation name) and %(column)s.
SELECT format_type(a.atttypid, a.atttypmod),
       a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid),
       c.relkind,
       -- what a plain copy cannot carry: identity or generated, column privileges, a
       -- collation other than its type's
       a.attidentity <> '' OR a.attgenerated <> '' OR a.attacl IS NOT NULL
         OR a.attcollation <> (SELECT typcollation FROM pg_type WHERE oid = a.atttypid),
       -- constraints other than keys and NOT NULL on it, or foreign keys that point at it
       EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = c.oid
               AND a.attnum = ANY (k.conkey) AND k.contype NOT IN ('p', 'u', 'n'))
         OR EXISTS (SELECT FROM pg_constraint k WHERE k.confrelid = c.oid
                    AND a.attnum = ANY (k.confkey))
         OR EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = c.oid
                    AND a.attnum = ANY (k.conkey) AND k.contype IN ('p', 'u')
                    AND k.conindid = 0),
       -- views, rules, triggers and policies that name it
       EXISTS (SELECT FROM pg_depend dep WHERE dep.refobjid = c.oid
               AND dep.refobjsubid = a.attnum
               AND dep.classid IN ('pg_rewrite'::regclass, 'pg_trigger'::regclass,
                                   'pg_policy'::regclass, 'pg_statistic_ext'::regclass)),
       col_description(c.oid, a.attnum),
       (SELECT format('%%I.%%I', sn.nspname, s.relname)
        FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid
        JOIN pg_namespace sn ON sn.oid = s.relnamespace
        WHERE dep.classid = 'pg_class'::regclass AND dep.refobjid = c.oid
          AND dep.refobjsubid = a.attnum AND s.relkind = 'S' AND dep.deptype = 'a'
        LIMIT 1),
       EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = %(column)s AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.oid = to_regclass(%(table)s)
