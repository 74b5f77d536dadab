-- Object versions, so that history can say what each change changed and show a diff between
-- any two versions of an object.
--
-- A version is a sanitized object as the writer stored it, once per (object, content hash):
-- an object flipping between two states has two versions. The current version of a live
-- object is its flux_resources row; this table holds the others. The writer moves a version
-- here, in the batch that replaces or deletes it (archive on replace), so the first sight of an
-- object (an initial LIST of a whole fleet) writes no extra row, and a version whose change
-- retention already pruned is not archived at all.
--
-- Retention: a version no retained change references is deleted when the change log is
-- pruned (store::changes), and every version of a cluster goes with the cluster (foreign key).
CREATE TABLE resource_versions (
    resource_id   uuid NOT NULL,
    content_hash  bytea NOT NULL,
    cluster_id    uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    object        jsonb NOT NULL,
    archived_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_id, content_hash)
);
CREATE INDEX resource_versions_cluster_idx ON resource_versions (cluster_id);

-- Each upsert change records the version it produced and what changed from the version before
-- (flux::change_summary). NULL for deletes, events, first sights (no summary) and rows written
-- before this migration.
ALTER TABLE resource_changes ADD COLUMN content_hash bytea, ADD COLUMN summary text;

-- The newest change of every stored object produced its current version.
UPDATE resource_changes ch SET content_hash = r.content_hash
FROM flux_resources r WHERE ch.seq = r.last_seq AND ch.op = 'upsert';
