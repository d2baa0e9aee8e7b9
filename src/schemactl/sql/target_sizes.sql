-- What a migration will touch on a target database, read-only and without reading a row
-- (targets/cost.py): each relation's heap and index sizes, its row estimate, the rows written
-- to it since statistics were last reset, per second, and its number of indexes; a
-- partitioned table's summed over its partitions. pg_relation_size and the statistics views
-- need no privilege on the table itself. Parameter: %(names)s, an array of "schema.table"
-- names as the sample-row trial writes them.
SELECT n.nspname || '.' || c.relname,
       sum(pg_table_size(l.oid))::bigint,
       sum(pg_indexes_size(l.oid))::bigint,
       -- never analyzed since it was written (a rewrite resets it, from 18 on): as the planner
       -- estimates, from the size and the width of the columns (a variable one counted 32)
       sum(CASE WHEN l.reltuples >= 0 THEN l.reltuples
                ELSE pg_relation_size(l.oid) / (28 + coalesce(
                  (SELECT sum(CASE WHEN t.typlen > 0 THEN t.typlen ELSE 32 END)
                   FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                   WHERE a.attrelid = l.oid AND a.attnum > 0 AND NOT a.attisdropped), 0))
           END)::bigint,
       sum(coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0))
         / greatest(extract(epoch FROM now() - coalesce(
             (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
             pg_postmaster_start_time())), 1)::float8,
       max((SELECT count(*) FROM pg_index i WHERE i.indrelid = l.oid))
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
  SELECT p.relid AS oid FROM pg_partition_tree(c.oid) p WHERE p.isleaf AND c.relkind = 'p'
  UNION ALL
  SELECT c.oid WHERE c.relkind <> 'p'
) AS leaf
JOIN pg_class l ON l.oid = leaf.oid
LEFT JOIN pg_stat_user_tables s ON s.relid = l.oid
WHERE n.nspname || '.' || c.relname = ANY (%(names)s) AND c.relkind IN ('r', 'p', 'm')
GROUP BY 1
