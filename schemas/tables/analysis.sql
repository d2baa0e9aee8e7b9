CREATE TABLE genomics.analysis (
    analysis_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint NOT NULL REFERENCES genomics.sequencing_run (run_id),
    pipeline     text NOT NULL,
    status       genomics.analysis_status NOT NULL DEFAULT 'queued',
    region       genomics.genomic_region,
    started_at   timestamptz,
    finished_at  timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (finished_at IS NULL OR finished_at >= started_at)
);

CREATE INDEX analysis_pending_idx ON genomics.analysis (run_id) WHERE status IN ('queued', 'running');

GRANT SELECT ON genomics.analysis TO analyst;
