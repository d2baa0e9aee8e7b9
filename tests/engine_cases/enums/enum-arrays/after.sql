CREATE TYPE e AS ENUM ('a', 'c');
CREATE TABLE t (x e[] DEFAULT '{c}');
