-- schemactl's bookkeeping, version 3: `push` (schemas/ applied to a development database
-- without a migration) is recorded in the history; `apply` and `rollback` refuse a database
-- pushed to since its last baseline, whose schema no migration describes.
ALTER TABLE history DROP CONSTRAINT history_action_check;
ALTER TABLE history ADD CONSTRAINT history_action_check
    CHECK (action IN ('apply', 'rollback', 'baseline', 'repair', 'push'));
