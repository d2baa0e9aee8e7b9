CREATE TABLE genomics.organism (
    organism_id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scientific_name text NOT NULL UNIQUE,
    taxon_id        integer NOT NULL UNIQUE CHECK (taxon_id > 0),
    genome_build    text NOT NULL
);
