-- A new table keeps its columns' COLLATE clauses.
CREATE COLLATION posix FROM "POSIX";
