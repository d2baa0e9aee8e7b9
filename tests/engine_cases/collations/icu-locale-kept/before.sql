-- ICU collations keep their locale and determinism (migra writes neither).
CREATE TABLE t (a text);
