-- Objects migra does not know at all, each with its whole definition and the table it belongs
-- to: extended statistics, rules (not views' own _RETURN rules) and event triggers (which are
-- database-wide: no schema). Members of extensions are left out; the extension brings them.
SELECT 'statistics' AS kind,
       n.nspname AS schema,
       format('%I.%I', n.nspname, s.stxname) AS name,
       pg_get_statisticsobjdef(s.oid) AS definition,
       CASE WHEN s.stxstattarget >= 0
            THEN format('alter statistics %I.%I set statistics %s', n.nspname, s.stxname, s.stxstattarget)
            END AS settings,
       format('drop statistics %I.%I', n.nspname, s.stxname) AS drop,
       format('%s.%s', tn.nspname, t.relname) AS owner_table
FROM pg_statistic_ext s
JOIN pg_namespace n ON n.oid = s.stxnamespace
JOIN pg_class t ON t.oid = s.stxrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_statistic_ext'::regclass AND d.objid = s.oid AND d.deptype = 'e')
UNION ALL
SELECT 'rule',
       n.nspname,
       format('%I on %I.%I', r.rulename, n.nspname, c.relname),
       rtrim(pg_get_ruledef(r.oid), ';'),
       CASE WHEN r.ev_enabled <> 'O'
            THEN format('alter table %I.%I %s rule %I', n.nspname, c.relname,
                        CASE r.ev_enabled WHEN 'D' THEN 'disable' WHEN 'A' THEN 'enable always'
                                          ELSE 'enable replica' END,
                        r.rulename)
            END,
       format('drop rule %I on %I.%I', r.rulename, n.nspname, c.relname),
       format('%s.%s', n.nspname, c.relname)
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT 'event trigger',
       NULL,
       format('%I', e.evtname),
       format('create event trigger %I on %I%s execute function %I.%I()',
              e.evtname, e.evtevent,
              CASE WHEN e.evttags IS NULL THEN ''
                   ELSE format(' when tag in (%s)',
                               (SELECT string_agg(quote_literal(tag), ', ') FROM unnest(e.evttags) tag)) END,
              pn.nspname, p.proname),
       CASE e.evtenabled
            WHEN 'D' THEN format('alter event trigger %I disable', e.evtname)
            WHEN 'A' THEN format('alter event trigger %I enable always', e.evtname)
            WHEN 'R' THEN format('alter event trigger %I enable replica', e.evtname)
            END,
       format('drop event trigger %I', e.evtname),
       NULL
FROM pg_event_trigger e
JOIN pg_proc p ON p.oid = e.evtfoid
JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_event_trigger'::regclass AND d.objid = e.oid AND d.deptype = 'e')
ORDER BY 1, 3
