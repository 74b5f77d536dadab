-- The fleet timeline (`GET /api/v1/timeline`) pages the change log by time, newest first:
-- `ORDER BY at DESC, seq DESC` with a keyset condition `(at, seq) < (…)` and a time range.
-- An index on `at` alone cannot serve the tie-break on seq, so every page sorted the whole
-- range; this one is walked in order from the cursor and stops after one page. It replaces the
-- `at` index, whose other user (retention's `at < cut`) it serves as well.
CREATE INDEX resource_changes_at_seq_idx ON resource_changes (at, seq);
DROP INDEX resource_changes_at_idx;
