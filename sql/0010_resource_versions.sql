-- Object versions, so that history can say what each change changed and show a diff between
-- any two versions of an object.
--
-- A version is a sanitized object without metadata.resourceVersion (exactly what
-- flux_resources.content_hash covers), stored once per (object, content hash): an object
-- flipping between two states has two versions. Every stored object's current version is
-- here too: flux_resources no longer keeps its own copy, so a change writes the object once,
-- as before, only into this table instead.
--
-- Retention: a version that no retained change references and that is no object's current
-- version is deleted when the change log is pruned (store::versions), and every version of a
-- cluster goes with the cluster (foreign key).
CREATE TABLE resource_versions (
    resource_id   uuid NOT NULL,
    content_hash  bytea NOT NULL,
    cluster_id    uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    object        jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_id, content_hash)
);
CREATE INDEX resource_versions_cluster_idx ON resource_versions (cluster_id);

INSERT INTO resource_versions (resource_id, content_hash, cluster_id, object)
SELECT id, content_hash, cluster_id, object #- '{metadata,resourceVersion}' FROM flux_resources;
ALTER TABLE flux_resources DROP COLUMN object;

-- Each upsert change records the version it produced and what changed from the version before
-- (flux::change_summary). NULL for deletes, events, first sights (no summary) and rows written
-- before this migration.
ALTER TABLE resource_changes ADD COLUMN content_hash bytea, ADD COLUMN summary text;

-- The newest change of every stored object produced its current version.
UPDATE resource_changes ch SET content_hash = r.content_hash
FROM flux_resources r WHERE ch.seq = r.last_seq AND ch.op = 'upsert';
