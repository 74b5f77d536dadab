-- Edges between the objects of one cluster (flux::edges) and where sources fetch from
-- (flux::source_identity), written by the writer in the same transaction as the object that
-- declares them (store::edges states the protocol).
--
-- An edge points from upstream to downstream (`outgoing`: the declaring object is the upstream
-- end; otherwise the target is) and is kept by its declaring object: a deleted object or
-- cluster takes its edges along (foreign key). Its other end is named by key; `target_id` is
-- store::resource_id of that key, equal to the target's flux_resources.id once it is stored, so
-- an edge to an object not yet seen stays and resolves when the object appears.
--
-- Retention: none of their own. Both tables hold the current state of stored objects only and
-- shrink with them (deletes, sweeps, cluster deletion cascade); no history is kept.
CREATE TABLE resource_edges (
    resource_id       uuid NOT NULL REFERENCES flux_resources (id) ON DELETE CASCADE,
    target_id         uuid NOT NULL,
    type              text NOT NULL
                      CHECK (type IN ('source', 'chart', 'dependsOn', 'inventory', 'imageRepository', 'provider', 'eventSource', 'receiver')),
    outgoing          boolean NOT NULL,
    target_group      text NOT NULL,
    target_kind       text NOT NULL,
    target_namespace  text NOT NULL,
    target_name       text NOT NULL,
    PRIMARY KEY (resource_id, target_id, type)
);
-- The other direction: who points at an object.
CREATE INDEX resource_edges_target_idx ON resource_edges (target_id);

CREATE TABLE source_identities (
    resource_id  uuid PRIMARY KEY REFERENCES flux_resources (id) ON DELETE CASCADE,
    identity     text NOT NULL
);
CREATE INDEX source_identities_identity_idx ON source_identities (identity);

-- Objects stored before this migration: start-up computes their edges once (store::edges,
-- Store::backfill_edges), in chunks under the log lock, emptying this list.
CREATE TABLE resource_edges_backfill (
    resource_id  uuid PRIMARY KEY
);
INSERT INTO resource_edges_backfill (resource_id) SELECT id FROM flux_resources;
