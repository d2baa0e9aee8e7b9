-- schemactl's bookkeeping, version 2: where a migration that commits in parts stopped, so
-- that `apply` resumes it at the first part that did not finish (execution.py).
ALTER TABLE migrations ADD COLUMN resume_part integer;
COMMENT ON COLUMN migrations.resume_part IS
    'running or failed: the parts of the file already committed, from where apply resumes it '
    '(NULL: unknown, the run stopped inside a part that cannot run twice; needs repair)';
