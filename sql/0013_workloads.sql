-- Workloads: the objects Flux applies (Deployments, Services, ...) that ingest watches by
-- their ownership labels (issue 16). They live in flux_resources beside the Flux objects, so
-- that the writer, the change log, the stream, history, versions, retention and the graph
-- treat them the same way: a workload's id is store::resource_id of its key, the id the
-- graph's inventory edges already point at.
--
-- Retention: as for Flux objects. A row is the current state (removed by delete events,
-- relist sweeps, a cluster opting out, and cluster deletion); its changes and versions are
-- pruned with the change log. workload_images rows go with their workload (foreign key).
ALTER TABLE flux_resources
    -- A workload (true) or a Flux object (false).
    ADD COLUMN workload          boolean NOT NULL DEFAULT false,
    -- Workloads: the Flux object that applied it (store::resource_id of the key its ownership
    -- labels name; that object need not be stored yet).
    ADD COLUMN owner_id          uuid,
    -- Workloads: kstatus's verdict (Current, InProgress, Failed, Terminating, Unknown); the
    -- reason and message are in `reason` and `message`, the mapped health in `health`.
    ADD COLUMN kstatus           text
                                 CHECK (kstatus IN ('Current', 'InProgress', 'Failed', 'Terminating', 'Unknown')),
    ADD COLUMN ready_replicas    bigint,
    ADD COLUMN desired_replicas  bigint,
    -- Flux objects: the worst health of the workloads they own (NULL: none stored). Written by
    -- the writer in the transaction that changes a workload (store::writer::rollup).
    ADD COLUMN workload_health   text
                                 CHECK (workload_health IN ('ready', 'progressing', 'failed', 'stalled', 'suspended', 'unknown'));

CREATE INDEX flux_resources_owner_idx ON flux_resources (owner_id) WHERE owner_id IS NOT NULL;

-- The list indexes serve Flux objects only (every resource list filters on the class), and
-- workload lists get their own: with 4 workloads per Flux object, a walk of a shared index
-- would skip 80% of its entries.
DROP INDEX flux_resources_health_idx;
CREATE INDEX flux_resources_health_idx ON flux_resources (health, updated_at DESC) WHERE NOT workload;
DROP INDEX flux_resources_kind_idx;
CREATE INDEX flux_resources_kind_idx ON flux_resources (kind, name text_pattern_ops, namespace, id) WHERE NOT workload;
DROP INDEX flux_resources_namespace_idx;
CREATE INDEX flux_resources_namespace_idx ON flux_resources (namespace, name) WHERE NOT workload;
DROP INDEX flux_resources_name_idx;
CREATE INDEX flux_resources_name_idx ON flux_resources (name text_pattern_ops) WHERE NOT workload;
DROP INDEX flux_resources_cluster_updated_idx;
CREATE INDEX flux_resources_cluster_updated_idx ON flux_resources (cluster_id, updated_at, id) WHERE NOT workload;
CREATE INDEX flux_resources_workload_name_idx ON flux_resources (name text_pattern_ops, namespace, kind, id) WHERE workload;
CREATE INDEX flux_resources_workload_kind_idx ON flux_resources (kind, name text_pattern_ops, namespace, id) WHERE workload;
CREATE INDEX flux_resources_workload_health_idx ON flux_resources (health, updated_at DESC) WHERE workload;

-- The containers' images of each workload, for image search ("where does nginx:1.25 run?"):
-- a repository or a path above it (prefix up to a '/'), an exact tag, a digest prefix.
CREATE TABLE workload_images (
    resource_id  uuid NOT NULL REFERENCES flux_resources (id) ON DELETE CASCADE,
    position     int NOT NULL,
    container    text NOT NULL,
    init         boolean NOT NULL,
    image        text NOT NULL,
    repository   text NOT NULL,
    tag          text,
    digest       text,
    PRIMARY KEY (resource_id, position)
);
CREATE INDEX workload_images_repository_idx ON workload_images (repository text_pattern_ops);
CREATE INDEX workload_images_tag_idx ON workload_images (tag);
CREATE INDEX workload_images_digest_idx ON workload_images (digest text_pattern_ops);

-- A cluster may opt out of workload watching (PATCH /api/v1/clusters/{id} `watchWorkloads`).
ALTER TABLE clusters ADD COLUMN watch_workloads boolean NOT NULL DEFAULT true;
