-- What a migration will touch on a target database, read-only and without reading a row
-- (targets/cost.py): each relation's heap and index sizes, its row estimate, and the rows
-- written to it since statistics were last reset, per second, and its number of indexes. pg_relation_size and the
-- statistics views need no privilege on the table itself. Parameter: %(names)s, an array
-- of "schema.table" names as the sample-row trial writes them.
SELECT n.nspname || '.' || c.relname,
       pg_table_size(c.oid),
       pg_indexes_size(c.oid),
       -- never analyzed since it was written (a rewrite resets it, from 18 on): as the planner
       -- estimates, from the size and the width of the columns (a variable one counted 32)
       (CASE WHEN c.reltuples >= 0 THEN c.reltuples
             ELSE pg_relation_size(c.oid) / (28 + coalesce(
               (SELECT sum(CASE WHEN t.typlen > 0 THEN t.typlen ELSE 32 END)
                FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), 0))
        END)::bigint,
       coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0)
         / greatest(extract(epoch FROM now() - coalesce(
             (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
             pg_postmaster_start_time())), 1),
       (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE n.nspname || '.' || c.relname = ANY (%(names)s) AND c.relkind IN ('r', 'p', 'm')
