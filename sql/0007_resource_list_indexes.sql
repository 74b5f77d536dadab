-- Indexes for the list shapes the fleet benchmark (benches/fleet, scenario 8) found slow at
-- 100,000 objects, each walking an index in the requested order instead of filtering most rows:
--
-- * one cluster, newest first (`cluster=X&sort=-updated`): the fleet-wide updated_at index
--   removed 84,000 rows of other clusters per page (40 ms).
-- * one kind, by name (`kind=ks&…`, the default sort): the name index removed the other kinds'
--   85,000 rows per page (60–95 ms). The kind index now keeps name order (the C-collation order
--   lists use), which still serves `kind=…&namespace=…` by filtering on the namespace.
CREATE INDEX flux_resources_cluster_updated_idx ON flux_resources (cluster_id, updated_at, id);
DROP INDEX flux_resources_kind_idx;
CREATE INDEX flux_resources_kind_idx ON flux_resources (kind, name text_pattern_ops, namespace, id);
