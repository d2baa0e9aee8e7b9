CREATE FUNCTION f(b int) RETURNS int LANGUAGE sql AS 'select 1';
