-- raw migra gets this wrong: nor rename a parameter or drop its default
CREATE FUNCTION f(a int DEFAULT 1) RETURNS int LANGUAGE sql AS 'select 1';
