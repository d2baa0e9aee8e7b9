-- raw migra gets this wrong
CREATE TYPE e AS ENUM ('a');
CREATE TABLE t (x e[]);
