-- The user objects that sql/dependencies.sql names by (classid, objid), each as engine/
-- statements.py names what a statement creates or drops: (family, schema, name, part). A
-- column, constraint, default, trigger, rule or policy is a part of its relation (or domain);
-- an array type stands for its element type; a table's row type for the table. Parts a
-- partition or child table receives from its parent (cloned triggers, inherited constraints)
-- are left out: no statement creates them, the parent's do.
    SELECT 'pg_class'::regclass::oid AS classid, c.oid AS objid,
           CASE WHEN c.relkind = 'c' THEN 'type' ELSE 'relation' END, n.nspname, c.relname, NULL
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid >= 16384
  UNION ALL
    SELECT 'pg_type'::regclass::oid, t.oid,
           CASE WHEN r.relkind IS NOT NULL AND r.relkind <> 'c' THEN 'relation' ELSE 'type' END,
           n.nspname, coalesce(r.relname, b.typname), NULL
    FROM pg_type t
    JOIN pg_type b ON b.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem
                                   ELSE t.oid END
    JOIN pg_namespace n ON n.oid = b.typnamespace
    LEFT JOIN pg_class r ON r.oid = b.typrelid
    WHERE t.oid >= 16384
  UNION ALL
    SELECT 'pg_proc'::regclass::oid, p.oid, 'function', n.nspname, p.proname, NULL
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.oid >= 16384
  UNION ALL
    SELECT 'pg_constraint'::regclass::oid, k.oid,
           CASE WHEN k.conrelid <> 0 THEN 'relation' ELSE 'type' END,
           n.nspname, coalesce(r.relname, t.typname), k.conname
    FROM pg_constraint k
    LEFT JOIN pg_class r ON r.oid = k.conrelid
    LEFT JOIN pg_type t ON t.oid = k.contypid
    JOIN pg_namespace n ON n.oid = coalesce(r.relnamespace, t.typnamespace)
    WHERE k.oid >= 16384 AND k.conislocal  -- not a constraint a partition or child inherits
  UNION ALL
    SELECT 'pg_attrdef'::regclass::oid, d.oid, 'relation', n.nspname, r.relname, a.attname
    FROM pg_attrdef d
    JOIN pg_class r ON r.oid = d.adrelid
    JOIN pg_namespace n ON n.oid = r.relnamespace
    JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  UNION ALL
    SELECT 'pg_rewrite'::regclass::oid, w.oid, 'relation', n.nspname, r.relname,
           nullif(w.rulename, '_RETURN')
    FROM pg_rewrite w JOIN pg_class r ON r.oid = w.ev_class
    JOIN pg_namespace n ON n.oid = r.relnamespace
    WHERE w.oid >= 16384
  UNION ALL
    SELECT 'pg_trigger'::regclass::oid, g.oid, 'relation', n.nspname, r.relname, g.tgname
    FROM pg_trigger g JOIN pg_class r ON r.oid = g.tgrelid
    JOIN pg_namespace n ON n.oid = r.relnamespace
    WHERE g.tgparentid = 0  -- a partition's clone of its parent's trigger comes by itself
  UNION ALL
    SELECT 'pg_policy'::regclass::oid, y.oid, 'relation', n.nspname, r.relname, y.polname
    FROM pg_policy y JOIN pg_class r ON r.oid = y.polrelid
    JOIN pg_namespace n ON n.oid = r.relnamespace
  UNION ALL
    SELECT 'pg_collation'::regclass::oid, o.oid, 'collation', n.nspname, o.collname, NULL
    FROM pg_collation o JOIN pg_namespace n ON n.oid = o.collnamespace
    WHERE o.oid >= 16384
