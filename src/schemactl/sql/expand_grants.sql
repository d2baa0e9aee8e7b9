-- The privileges granted on a table to roles other than its owner (engine/expand.py gives
-- them to the view that keeps a renamed table's old name). Parameter: %(table)s.
SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
       x.privilege_type,
       x.is_grantable
FROM pg_class c, aclexplode(c.relacl) x
LEFT JOIN pg_roles r ON r.oid = x.grantee
WHERE c.oid = to_regclass(%(table)s) AND x.grantee <> c.relowner
ORDER BY 1, 2
