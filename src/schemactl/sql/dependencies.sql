-- Every dependency PostgreSQL records between user objects (pg_depend), by (classid, objid)
-- on both sides; sql/dependency_objects.sql names them. The two are joined in Python
-- (engine/dependencies.py): joined here, the planner loops over the object list for each row
-- (two minutes for a 1,000-table schema).
-- deptype: n = normal (the dependent needs the referenced object), a = auto and i = internal
-- (the dependent goes when the referenced object is dropped).
SELECT d.classid::oid, d.objid, CASE WHEN d.objsubid > 0 THEN a.attname END,
       d.refclassid::oid, d.refobjid, d.deptype
FROM pg_depend d
LEFT JOIN pg_attribute a
       ON d.classid = 'pg_class'::regclass AND a.attrelid = d.objid AND a.attnum = d.objsubid
WHERE d.deptype IN ('n', 'a', 'i') AND d.objid >= 16384 AND d.refobjid >= 16384
