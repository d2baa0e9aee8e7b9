-- schemactl's bookkeeping, version 1. Runs with search_path set to the tracking schema.
-- Later versions add ledger_v2.sql, ... ; each runs once, in order, in one transaction.

CREATE TABLE ledger_version (
    version integer PRIMARY KEY,
    upgraded_at timestamptz NOT NULL DEFAULT now()
);

-- One row per migration the database holds (or holds a record of).
CREATE TABLE migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,                 -- NNNN_slug
    checksum text NOT NULL,             -- SHA-256 of the up file, as in schemactl.sum
    state text NOT NULL CHECK (state IN (
        'applied',                      -- ran and committed
        'baseline',                     -- recorded by `baseline` without running
        'skipped',                      -- not for this environment (-- schemactl:environments)
        'running',                      -- no-transaction file in progress (stays if killed)
        'failed'                        -- no-transaction file stopped partway
    )),
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_by text NOT NULL DEFAULT session_user,
    execution_ms integer NOT NULL DEFAULT 0
);

-- The audit trail: every apply, rollback, baseline and repair, including failures.
CREATE TABLE history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version integer,
    name text,
    action text NOT NULL CHECK (action IN ('apply', 'rollback', 'baseline', 'repair')),
    status text NOT NULL CHECK (status IN ('ok', 'failed', 'interrupted', 'skipped', 'forced')),
    started_at timestamptz NOT NULL,
    duration_ms integer NOT NULL DEFAULT 0,
    checksum text,
    error text,                         -- the server's message, or what repair changed
    statement text,                     -- the failing statement
    performed_by text NOT NULL DEFAULT session_user,
    client text                         -- schemactl version, OS user, host, pid
);
CREATE INDEX history_version ON history (version, id);
