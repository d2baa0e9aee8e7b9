-- migra gets this right; it must stay right
CREATE TABLE t (id int);
