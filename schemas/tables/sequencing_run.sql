CREATE TABLE genomics.sequencing_run (
    run_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sample_id    bigint NOT NULL REFERENCES genomics.sample (sample_id) ON DELETE CASCADE,
    platform     genomics.sequencing_platform NOT NULL,
    read_length  integer NOT NULL CHECK (read_length BETWEEN 30 AND 100000),
    total_reads  bigint CHECK (total_reads >= 0),
    started_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sequencing_run_sample_idx ON genomics.sequencing_run (sample_id);
