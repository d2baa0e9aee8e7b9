-- raw migra gets this wrong: array-of-enum columns in the rewrite, and a new value used in an array default
CREATE TYPE e AS ENUM ('a', 'b');
CREATE TABLE t (x e[] DEFAULT '{a}');
