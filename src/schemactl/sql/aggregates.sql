-- Aggregates, which schemainspect does not read (its function query leaves them out), each
-- with a CREATE AGGREGATE that reproduces it from pg_aggregate, and its identity for DROP.
-- Members of extensions are left out; the extension brings them.
SELECT n.nspname AS schema,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
           AS identity,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_arguments(p.oid)) AS head,
       concat_ws(', ',
           format('sfunc = %I.%I', sn.nspname, sf.proname),
           format('stype = %s', format_type(a.aggtranstype, NULL)),
           CASE WHEN a.aggtransspace <> 0 THEN format('sspace = %s', a.aggtransspace) END,
           CASE WHEN a.aggfinalfn <> 0
                THEN format('finalfunc = %s', a.aggfinalfn::regproc::text) END,
           CASE WHEN a.aggfinalextra THEN 'finalfunc_extra' END,
           CASE WHEN a.aggfinalfn <> 0 THEN format('finalfunc_modify = %s',
                CASE a.aggfinalmodify WHEN 'r' THEN 'read_only' WHEN 's' THEN 'shareable'
                                      ELSE 'read_write' END) END,
           CASE WHEN a.aggcombinefn <> 0
                THEN format('combinefunc = %s', a.aggcombinefn::regproc::text) END,
           CASE WHEN a.aggserialfn <> 0
                THEN format('serialfunc = %s', a.aggserialfn::regproc::text) END,
           CASE WHEN a.aggdeserialfn <> 0
                THEN format('deserialfunc = %s', a.aggdeserialfn::regproc::text) END,
           CASE WHEN a.agginitval IS NOT NULL
                THEN format('initcond = %L', a.agginitval) END,
           CASE WHEN a.aggmtransfn <> 0
                THEN format('msfunc = %s', a.aggmtransfn::regproc::text) END,
           CASE WHEN a.aggminvtransfn <> 0
                THEN format('minvfunc = %s', a.aggminvtransfn::regproc::text) END,
           CASE WHEN a.aggmtranstype <> 0
                THEN format('mstype = %s', format_type(a.aggmtranstype, NULL)) END,
           CASE WHEN a.aggmtransspace <> 0 THEN format('msspace = %s', a.aggmtransspace) END,
           CASE WHEN a.aggmfinalfn <> 0
                THEN format('mfinalfunc = %s', a.aggmfinalfn::regproc::text) END,
           CASE WHEN a.aggmfinalextra THEN 'mfinalfunc_extra' END,
           CASE WHEN a.aggmfinalfn <> 0 THEN format('mfinalfunc_modify = %s',
                CASE a.aggmfinalmodify WHEN 'r' THEN 'read_only' WHEN 's' THEN 'shareable'
                                       ELSE 'read_write' END) END,
           CASE WHEN a.aggminitval IS NOT NULL
                THEN format('minitcond = %L', a.aggminitval) END,
           CASE WHEN a.aggsortop <> 0
                THEN format('sortop = operator(%s.%s)', opn.nspname, op.oprname) END,
           CASE WHEN a.aggkind = 'h' THEN 'hypothetical' END,
           CASE p.proparallel WHEN 's' THEN 'parallel = safe'
                              WHEN 'r' THEN 'parallel = restricted' END
       ) AS options
FROM pg_aggregate a
JOIN pg_proc p ON p.oid = a.aggfnoid
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_proc sf ON sf.oid = a.aggtransfn
JOIN pg_namespace sn ON sn.oid = sf.pronamespace
LEFT JOIN pg_operator op ON op.oid = a.aggsortop
LEFT JOIN pg_namespace opn ON opn.oid = op.oprnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 2
