-- Privileges granted to anyone but the owner (and the grant options the owner gave itself:
-- its privileges are implicit, its entry in the ACL is the default otherwise), on tables, views, materialized views,
-- sequences, functions, procedures, schemas and columns. A NULL ACL means the built-in defaults
-- (acldefault), so a REVOKE of a default (e.g. EXECUTE from PUBLIC) shows up as a difference.
WITH objects AS (
    SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
           n.nspname AS schema,
           (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity AS identity,
           c.relowner AS owner,
           coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl,
           c.relacl IS NULL AS is_default,
           ('pg_class'::regclass)::oid AS classid, c.oid AS objid
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
    SELECT CASE WHEN p.prokind = 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
           n.nspname,
           (pg_identify_object('pg_proc'::regclass, p.oid, 0)).identity,
           p.proowner,
           coalesce(p.proacl, acldefault('f', p.proowner)),
           p.proacl IS NULL,
           ('pg_proc'::regclass)::oid, p.oid
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prokind IN ('f', 'p', 'w')
  UNION ALL
    -- Column privileges (GRANT SELECT (col) ON t): the identity is "table|column".
    SELECT 'COLUMN', n.nspname,
           (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity || '|' || quote_ident(a.attname),
           c.relowner, a.attacl, false,
           ('pg_class'::regclass)::oid, c.oid
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
    SELECT 'SCHEMA', n.nspname, quote_ident(n.nspname), n.nspowner,
           coalesce(n.nspacl, acldefault('n', n.nspowner)),
           n.nspacl IS NULL,
           ('pg_namespace'::regclass)::oid, n.oid
    FROM pg_namespace n
)
SELECT o.kind, o.schema, o.identity,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee,
       a.privilege_type, a.is_grantable, o.is_default, a.grantee = o.owner AS to_owner
FROM objects o
CROSS JOIN LATERAL aclexplode(o.acl) a
LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE (a.grantee <> o.owner OR a.is_grantable)
  AND o.schema NOT IN ('pg_catalog', 'information_schema')
  AND o.schema NOT LIKE 'pg\_toast%' AND o.schema NOT LIKE 'pg\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend e
                  WHERE e.classid = o.classid AND e.objid = o.objid AND e.deptype = 'e')
ORDER BY 1, 3, 4, 5
