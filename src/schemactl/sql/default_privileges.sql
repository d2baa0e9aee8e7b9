-- ALTER DEFAULT PRIVILEGES entries, which schemainspect does not read. For every entry the
-- query also returns what holds without it (acldefault for global entries, nothing for
-- per-schema ones), so a database without the entry can be compared with one that has it.
WITH entries AS (
    SELECT d.defaclrole, d.defaclnamespace, d.defaclobjtype, 'actual' AS kind, d.defaclacl AS acl
    FROM pg_default_acl d
  UNION ALL
    SELECT d.defaclrole, d.defaclnamespace, d.defaclobjtype, 'default',
           CASE WHEN d.defaclnamespace = 0
                THEN acldefault(CASE d.defaclobjtype WHEN 'T' THEN 'T' WHEN 'n' THEN 'n'
                                                     WHEN 'S' THEN 's' WHEN 'f' THEN 'f' ELSE 'r' END::"char",
                                d.defaclrole)
                END  -- per-schema entries add to the global ones: nothing holds without them
    FROM pg_default_acl d
)
SELECT quote_ident(r.rolname) AS role,
       n.nspname AS schema,
       e.defaclobjtype::text AS objtype,
       e.kind,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.rolname) END AS grantee,
       a.privilege_type,
       a.is_grantable
FROM entries e
JOIN pg_roles r ON r.oid = e.defaclrole
LEFT JOIN pg_namespace n ON n.oid = e.defaclnamespace
CROSS JOIN LATERAL aclexplode(e.acl) a
LEFT JOIN pg_roles g ON g.oid = a.grantee
ORDER BY 1, 2, 3, 4, 5, 6
