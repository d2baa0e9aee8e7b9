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
           -- the support functions that are set, each as regproc writes it (qualified when
           -- not on the search path)
           (SELECT string_agg(format('%s = %s', f.option, f.function), ', ' ORDER BY f.n)
            FROM unnest(ARRAY['finalfunc', 'combinefunc', 'serialfunc', 'deserialfunc', 'msfunc',
                              'minvfunc', 'mfinalfunc'],
                        ARRAY[a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn,
                              a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn]::regproc[])
                 WITH ORDINALITY AS f(option, function, n)
            WHERE f.function::oid <> 0),
           CASE WHEN a.aggmtranstype <> 0
                THEN format('mstype = %s', format_type(a.aggmtranstype, NULL)) END,
           CASE WHEN a.aggmtransspace <> 0 THEN format('msspace = %s', a.aggmtransspace) END,
           -- the final function's settings and the initial value, for the plain aggregate and
           -- its moving-aggregate mode (the same options with an "m" in front)
           (SELECT string_agg(NULLIF(concat_ws(', ',
                       CASE WHEN mode.extra THEN mode.prefix || 'finalfunc_extra' END,
                       CASE WHEN mode.final <> 0 THEN format('%sfinalfunc_modify = %s', mode.prefix,
                            CASE mode.modify WHEN 'r' THEN 'read_only' WHEN 's' THEN 'shareable'
                                             ELSE 'read_write' END) END,
                       CASE WHEN mode.init IS NOT NULL
                            THEN format('%sinitcond = %L', mode.prefix, mode.init) END
                   ), ''), ', ' ORDER BY mode.prefix)
            FROM (VALUES ('', a.aggfinalextra, a.aggfinalfn, a.aggfinalmodify, a.agginitval),
                         ('m', a.aggmfinalextra, a.aggmfinalfn, a.aggmfinalmodify, a.aggminitval))
                 AS mode(prefix, extra, final, modify, init)),
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
