-- raw migra gets this wrong: the identity's sequence holds the serial's name; and back
CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY);
