-- Whether any function of these names is volatile (a column default that calls one is
-- evaluated per row: ADD COLUMN with it rewrites the table). Parameter: %(names)s.
SELECT coalesce(bool_or(provolatile = 'v'), false) FROM pg_proc WHERE proname = ANY (%(names)s)
