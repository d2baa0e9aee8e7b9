CREATE TYPE e AS ENUM ('a', 'b');
CREATE TABLE t (x e[] DEFAULT '{b}');
