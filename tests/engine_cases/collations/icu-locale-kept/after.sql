CREATE TABLE t (a text);
CREATE COLLATION numeric (provider = icu, locale = 'en-u-kn-true');
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
