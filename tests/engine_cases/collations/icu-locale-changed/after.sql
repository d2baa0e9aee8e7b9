CREATE COLLATION c1 (provider = icu, locale = 'de-u-kn-true');
