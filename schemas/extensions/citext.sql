-- Case-insensitive text for e-mail addresses of contacts.
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;
