-- Every comment on a user object, with the object's identity as COMMENT ON accepts it and
-- the relation/function/type/schema that owns it (to notice when the owner is re-created).
-- schemainspect reads no comments at all.
SELECT o.type,
       CASE WHEN d.classoid <> 'pg_event_trigger'::regclass THEN coalesce(o.schema, o.identity) END AS schema,
       o.identity,
       d.description,
       CASE d.classoid
           WHEN 'pg_class'::regclass THEN (pg_identify_object(d.classoid, d.objoid, 0)).identity
           WHEN 'pg_constraint'::regclass THEN (
               SELECT CASE WHEN conrelid <> 0
                           THEN (pg_identify_object('pg_class'::regclass, conrelid, 0)).identity
                           ELSE (pg_identify_object('pg_type'::regclass, contypid, 0)).identity END
               FROM pg_constraint WHERE oid = d.objoid)
           WHEN 'pg_trigger'::regclass THEN (
               SELECT (pg_identify_object('pg_class'::regclass, tgrelid, 0)).identity
               FROM pg_trigger WHERE oid = d.objoid)
           WHEN 'pg_policy'::regclass THEN (
               SELECT (pg_identify_object('pg_class'::regclass, polrelid, 0)).identity
               FROM pg_policy WHERE oid = d.objoid)
           ELSE o.identity
       END AS owner
FROM pg_description d
CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
WHERE d.classoid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass,
                     'pg_namespace'::regclass, 'pg_constraint'::regclass, 'pg_trigger'::regclass,
                     'pg_policy'::regclass, 'pg_statistic_ext'::regclass, 'pg_rewrite'::regclass,
                     'pg_event_trigger'::regclass)
  AND coalesce(o.schema, o.identity) NOT IN ('pg_catalog', 'information_schema')
  AND coalesce(o.schema, o.identity) NOT LIKE 'pg\_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend e
                  WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')
ORDER BY 1, 3
