CREATE TYPE genomics.sequencing_platform AS ENUM ('illumina', 'nanopore', 'pacbio');

CREATE TYPE genomics.analysis_status AS ENUM ('queued', 'running', 'succeeded', 'failed');
