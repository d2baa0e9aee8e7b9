CREATE VIEW genomics.sample_summary AS
SELECT s.sample_id,
       s.barcode,
       o.scientific_name,
       count(DISTINCT r.run_id) AS runs,
       count(v.variant_id)      AS variants
FROM genomics.sample s
JOIN genomics.organism o USING (organism_id)
LEFT JOIN genomics.sequencing_run r ON r.sample_id = s.sample_id
LEFT JOIN genomics.variant v ON v.run_id = r.run_id
GROUP BY s.sample_id, s.barcode, o.scientific_name;

COMMENT ON VIEW genomics.sample_summary IS 'One row per sample with its run and variant counts';
GRANT SELECT ON genomics.sample_summary TO analyst;
