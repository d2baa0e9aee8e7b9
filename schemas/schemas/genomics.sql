-- Samples, sequencing runs, variant calls and analyses.
CREATE SCHEMA genomics;
