-- A serial's sequence keeps its type: migra's CREATE SEQUENCE leaves out AS (a bigint sequence).
CREATE TABLE a (id int);
