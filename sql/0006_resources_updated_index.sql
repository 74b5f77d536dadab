-- Newest-first listing of the whole fleet (`sort=-updated` without filters): an index walk
-- instead of sorting every row (167 ms → 4 ms at 100,000 objects in benches/rest_list.rs).
CREATE INDEX flux_resources_updated_idx ON flux_resources (updated_at, id);
