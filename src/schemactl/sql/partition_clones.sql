-- What PostgreSQL makes by itself for partitioned tables, which schemainspect lists as if it
-- were written by hand (so migra creates it twice, or drops it where that is refused):
--   clone:  a constraint or trigger a partition inherits from its partitioned table, and the
--           internal foreign keys PostgreSQL adds for each partition a foreign key points at;
--   index:  the index behind such a cloned constraint (it comes with the constraint);
--   own:    a primary key / unique / exclusion constraint of a partitioned table, whose index
--           cannot be made first and adopted (USING INDEX is refused): the constraint creates it.
SELECT 'clone' AS kind, n.nspname AS schema, t.relname AS relation, c.conname AS name
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE c.conparentid <> 0 OR (c.contype = 'c' AND NOT c.conislocal AND t.relispartition)
UNION ALL
SELECT 'clone', n.nspname, t.relname, g.tgname
FROM pg_trigger g
JOIN pg_class t ON t.oid = g.tgrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE g.tgparentid <> 0
UNION ALL
SELECT 'index', n.nspname, t.relname, i.relname
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_class i ON i.oid = c.conindid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE c.conparentid <> 0 AND c.contype IN ('p', 'u', 'x') AND c.conrelid <> 0
UNION ALL
SELECT 'own', n.nspname, t.relname, c.conname
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid AND t.relkind = 'p'
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE c.contype IN ('p', 'u', 'x')
ORDER BY 1, 2, 3, 4
