CREATE VIEW genomics.pending_analyses AS
SELECT a.analysis_id, a.pipeline, a.status, genomics.region_length(a.region) AS region_length
FROM genomics.analysis a
WHERE a.status IN ('queued', 'running');
