-- Samples, sequencing runs, variant calls and analyses.
CREATE SCHEMA genomics;
COMMENT ON SCHEMA genomics IS 'Samples, sequencing runs, variant calls and analyses';
GRANT USAGE ON SCHEMA genomics TO analyst;
