-- Cluster status messages are read by every viewer, so they no longer quote what a cluster's
-- server answered (a server URL pointed at a metadata service would show its answer to
-- everyone). The full text goes to `detail`, which the API returns to admins only; per-kind
-- entries of `kinds` get a `detail` key the same way. Messages written before this migration
-- may quote a remote answer: they move to `detail` until the supervisor writes the next status.
ALTER TABLE cluster_status ADD COLUMN detail text NOT NULL DEFAULT '';

UPDATE cluster_status SET detail = message, message = '';

UPDATE cluster_status SET kinds = (
    SELECT coalesce(jsonb_object_agg(
        k,
        CASE WHEN jsonb_typeof(v) = 'object' AND v ? 'message'
             THEN (v - 'message') || jsonb_build_object('detail', v -> 'message')
             ELSE v END), '{}'::jsonb)
    FROM jsonb_each(kinds) AS e(k, v)
)
WHERE jsonb_typeof(kinds) = 'object';
