-- raw migra gets this wrong: PostgreSQL 15 cannot change a generation expression: drop and add
CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
