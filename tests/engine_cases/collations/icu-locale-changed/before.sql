-- A collation whose ICU locale changes is dropped and created again (it cannot be altered).
CREATE COLLATION c1 (provider = icu, locale = 'en-u-kn-true');
