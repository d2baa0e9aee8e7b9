-- migra gets this right; it must stay right: removing an enum value: rewrite with a dependent view and default
CREATE TYPE e AS ENUM ('a', 'b', 'c');
CREATE TABLE t (x e DEFAULT 'a');
CREATE VIEW v AS SELECT x FROM t;
