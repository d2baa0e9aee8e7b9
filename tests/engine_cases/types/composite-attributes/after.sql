CREATE TYPE pair AS (a int, c text);
CREATE TABLE t (p pair);
