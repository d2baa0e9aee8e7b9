CREATE TABLE a (id int);
CREATE TABLE b (id serial PRIMARY KEY, n smallserial);
