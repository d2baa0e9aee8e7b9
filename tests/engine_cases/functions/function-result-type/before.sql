-- raw migra gets this wrong: CREATE OR REPLACE cannot change a result type: drop, create, and the view too
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';
CREATE VIEW v AS SELECT f() AS x;
