-- An identity column turned into a plain default and back: migra's down set the default before dropping the identity (refused).
CREATE TABLE t (c int DEFAULT 77, d int GENERATED ALWAYS AS IDENTITY);
