-- Constraints added NOT VALID stay NOT VALID: not validated, and the clause not written twice.
CREATE TABLE p (id int PRIMARY KEY);
CREATE TABLE t (id int, p int);
