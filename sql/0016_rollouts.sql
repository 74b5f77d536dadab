-- Rollouts (`GET /api/v1/rollouts`): which revision each consumer of a source (Kustomization,
-- HelmRelease) attempted and applied, and when. Written by the writer in the transaction of the
-- consumer's change (store::rollouts states the protocol), so a rollout outlives the change
-- log's retention.
--
-- One row per (consumer, revision): `first_seen_at` is when the consumer first named the
-- revision (attempted or applied), `applied_at` when it was first seen Ready at it (NULL: never).
-- Retention: a consumer keeps its 10 newest revisions (the writer trims older ones) and its
-- rows go with it (foreign key).
CREATE TABLE rollout_applies (
    resource_id    uuid NOT NULL REFERENCES flux_resources (id) ON DELETE CASCADE,
    revision       text NOT NULL,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    applied_at     timestamptz,
    PRIMARY KEY (resource_id, revision)
);

-- The chart a HelmRelease names by template (flux::chart): with its source's identity
-- (source_identities) it names what the release rolls out. Current state only, like
-- source_identities: rewritten with each new version, gone with the release.
CREATE TABLE rollout_charts (
    resource_id  uuid PRIMARY KEY REFERENCES flux_resources (id) ON DELETE CASCADE,
    chart        text NOT NULL
);

-- Consumers stored before this migration: their current revisions, dated by their last write
-- (the best time known), and the charts of their current versions.
INSERT INTO rollout_applies (resource_id, revision, first_seen_at, applied_at)
SELECT id, revision, updated_at, updated_at FROM flux_resources
WHERE kind IN ('Kustomization', 'HelmRelease') AND NOT workload AND revision IS NOT NULL
  AND health = 'ready';
INSERT INTO rollout_applies (resource_id, revision, first_seen_at)
SELECT id, COALESCE(last_attempted_revision, revision), updated_at FROM flux_resources
WHERE kind IN ('Kustomization', 'HelmRelease') AND NOT workload
  AND COALESCE(last_attempted_revision, revision) IS NOT NULL
ON CONFLICT DO NOTHING;
INSERT INTO rollout_charts (resource_id, chart)
SELECT r.id, v.object #>> '{spec,chart,spec,chart}' FROM flux_resources r
JOIN resource_versions v ON v.resource_id = r.id AND v.content_hash = r.content_hash
WHERE r.kind = 'HelmRelease' AND NOT r.workload
  AND COALESCE(v.object #>> '{spec,chart,spec,chart}', '') <> '';
