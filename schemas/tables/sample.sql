CREATE TABLE genomics.sample (
    sample_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    barcode        bigint NOT NULL DEFAULT nextval('genomics.sample_barcode_seq') UNIQUE,
    organism_id    integer NOT NULL REFERENCES genomics.organism (organism_id),
    collected_on   date NOT NULL,
    tissue         text,
    contact_email  citext,
    metadata       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sample_organism_idx ON genomics.sample (organism_id);
CREATE INDEX sample_collected_idx ON genomics.sample (collected_on DESC);

COMMENT ON COLUMN genomics.sample.barcode IS 'Printed on the tube; unique across the lab';
