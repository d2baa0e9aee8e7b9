CREATE FUNCTION genomics.region_length(r genomics.genomic_region) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT
RETURN r.end_pos - r.start_pos;
