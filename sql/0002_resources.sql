-- Flux objects as last seen, their change log, the controllers' events, and cluster status.

-- One row per registered cluster, written by the ingest supervisor that watches it.
CREATE TABLE cluster_status (
    cluster_id          uuid PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    state               text NOT NULL DEFAULT 'connecting'
                        CHECK (state IN ('connecting', 'ready', 'degraded', 'unreachable')),
    message             text NOT NULL DEFAULT '',
    kubernetes_version  text,
    flux_version        text,
    -- per kind: {"state": "watching|absent|error|forbidden", "version": "v1", "message": "..."}
    kinds               jsonb NOT NULL DEFAULT '{}'::jsonb,
    last_event_at       timestamptz,
    last_resync_at      timestamptz,
    resync_drift_total  bigint NOT NULL DEFAULT 0,
    watched_by          text,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- The newest snapshot of every Flux object. `id` is a UUIDv5 of the key, so it is stable and
-- computable anywhere (see store::resource_id).
CREATE TABLE flux_resources (
    cluster_id                 uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    api_group                  text NOT NULL,
    kind                       text NOT NULL,
    namespace                  text NOT NULL,
    name                       text NOT NULL,
    id                         uuid NOT NULL UNIQUE,
    api_version                text NOT NULL,
    uid                        text,
    resource_version           text,
    generation                 bigint,
    observed_generation        bigint,
    health                     text NOT NULL
                               CHECK (health IN ('ready', 'progressing', 'failed', 'stalled', 'suspended', 'unknown')),
    reason                     text,
    message                    text,
    revision                   text,
    last_attempted_revision    text,
    revision_detail            text,
    suspended                  boolean NOT NULL DEFAULT false,
    source_ref                 jsonb,
    depends_on                 jsonb NOT NULL DEFAULT '[]'::jsonb,
    last_handled_reconcile_at  text,
    labels                     jsonb NOT NULL DEFAULT '{}'::jsonb,
    object                     jsonb NOT NULL,
    -- Hash of the sanitized object without resourceVersion: equal hash = nothing to write.
    content_hash               bytea NOT NULL,
    -- seq of the resource_changes row that last wrote this row.
    last_seq                   bigint NOT NULL,
    last_transition_at         timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cluster_id, api_group, kind, namespace, name)
);
CREATE INDEX flux_resources_health_idx ON flux_resources (health, updated_at DESC);
CREATE INDEX flux_resources_kind_idx ON flux_resources (kind, namespace, name);
CREATE INDEX flux_resources_namespace_idx ON flux_resources (namespace, name);
CREATE INDEX flux_resources_name_idx ON flux_resources (name text_pattern_ops);
CREATE INDEX flux_resources_labels_idx ON flux_resources USING gin (labels jsonb_path_ops);

-- The ordered log of committed changes that live fan-out and history read. Writers take
-- pg_advisory_xact_lock(LOG_LOCK) before inserting so that seq order is commit order.
-- No foreign key: the log outlives deleted clusters until retention prunes it.
CREATE TABLE resource_changes (
    seq            bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    cluster_id     uuid NOT NULL,
    resource_id    uuid NOT NULL,
    api_group      text NOT NULL,
    kind           text NOT NULL,
    namespace      text NOT NULL,
    name           text NOT NULL,
    op             text NOT NULL CHECK (op IN ('upsert', 'delete', 'event')),
    health_before  text,
    health_after   text,
    revision       text,
    reason         text,
    message        text
);
CREATE INDEX resource_changes_resource_idx ON resource_changes (resource_id, seq);
CREATE INDEX resource_changes_at_idx ON resource_changes (at);

-- The controllers' Kubernetes events about Flux objects, kept longer than Kubernetes keeps them.
CREATE TABLE flux_events (
    id                    bigserial PRIMARY KEY,
    cluster_id            uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    uid                   text NOT NULL,
    resource_id           uuid NOT NULL,
    api_group             text NOT NULL,
    kind                  text NOT NULL,
    namespace             text NOT NULL,
    name                  text NOT NULL,
    type                  text NOT NULL,
    reason                text,
    message               text,
    count                 bigint NOT NULL DEFAULT 1,
    first_seen            timestamptz,
    last_seen             timestamptz,
    reporting_controller  text,
    revision              text,
    UNIQUE (cluster_id, uid)
);
CREATE INDEX flux_events_resource_idx ON flux_events (resource_id, last_seen DESC);
CREATE INDEX flux_events_last_seen_idx ON flux_events (last_seen DESC);
