-- The settings of a target server that decide how fast it rewrites, builds and scans: the
-- calibration server runs with them (scratch/calibrate.py DECIDING), and the output says them.
SELECT name, setting FROM pg_settings
WHERE name IN ('wal_level', 'fsync', 'full_page_writes', 'synchronous_commit',
               'maintenance_work_mem', 'max_parallel_maintenance_workers')
ORDER BY name
