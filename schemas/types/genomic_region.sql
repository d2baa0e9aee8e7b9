-- A half-open interval [start_pos, end_pos) on one chromosome.
CREATE TYPE genomics.genomic_region AS (
    chromosome text,
    start_pos  bigint,
    end_pos    bigint
);
