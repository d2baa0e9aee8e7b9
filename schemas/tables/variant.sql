CREATE TABLE genomics.variant (
    variant_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES genomics.sequencing_run (run_id) ON DELETE CASCADE,
    chromosome  text NOT NULL,
    position    bigint NOT NULL CHECK (position > 0),
    ref_allele  text NOT NULL,
    alt_allele  text NOT NULL,
    quality     numeric(8, 2),
    CONSTRAINT variant_alleles_differ CHECK (ref_allele <> alt_allele),
    CONSTRAINT variant_unique_call UNIQUE (run_id, chromosome, position, alt_allele)
);

CREATE INDEX variant_locus_idx ON genomics.variant (chromosome, position);
