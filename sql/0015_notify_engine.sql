-- The notification engine (issue #19, part 2): its cursor in the change log, the dedupe state
-- per rule × object, changes waiting for their rule's grouping window, and the outbox that is
-- also the delivery log. Written only by the replica holding the engine's advisory lock
-- (notify::engine), in the same transaction as the work each row records.

-- One row: the highest resource_changes.seq the engine has evaluated.
CREATE TABLE notify_cursor (
    id  boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq bigint NOT NULL
);

-- Per rule × object (a Flux object's resource id, or a cluster id for cluster conditions):
-- `waiting` (stillFailed: failed since `since`, due at `due_at`) or `firing` (notified; not
-- sent again until it recovers). Deleted with the rule; orphans (object gone) by retention.
CREATE TABLE notify_state (
    rule_id   uuid NOT NULL REFERENCES notify_rules (id) ON DELETE CASCADE,
    object_id uuid NOT NULL,
    state     text NOT NULL CHECK (state IN ('waiting', 'firing')),
    since     timestamptz NOT NULL,
    due_at    timestamptz,
    -- the message item (cluster, kind, namespace, name, health, revision, …) as last seen.
    item      jsonb NOT NULL,
    PRIMARY KEY (rule_id, object_id)
);
CREATE INDEX notify_state_due ON notify_state (due_at) WHERE state = 'waiting';
CREATE INDEX notify_state_object ON notify_state (object_id);

-- Items waiting for their rule's grouping window: all items of one rule and action whose
-- window (from the oldest) has passed become one delivery.
CREATE TABLE notify_queue (
    id        bigserial PRIMARY KEY,
    rule_id   uuid NOT NULL REFERENCES notify_rules (id) ON DELETE CASCADE,
    action    text NOT NULL CHECK (action IN ('firing', 'resolved', 'recovered')),
    object_id uuid NOT NULL,
    item      jsonb NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notify_queue_rule ON notify_queue (rule_id, action, at);

-- The outbox and delivery log: a message is committed here before it is sent; `key` is its
-- idempotency key (the same on every attempt). Finished rows are pruned by age.
CREATE TABLE notify_deliveries (
    id              bigserial PRIMARY KEY,
    key             uuid NOT NULL UNIQUE,
    -- no foreign keys: the log outlives deleted rules and sinks (a sink gone: `failed`).
    rule_id         uuid,
    rule_name       text NOT NULL,
    sink_id         uuid NOT NULL,
    sink_name       text NOT NULL,
    action          text NOT NULL CHECK (action IN ('firing', 'resolved', 'recovered')),
    condition       text NOT NULL,
    summary         text NOT NULL,
    -- {items: [...]}: rendered for the sink's kind when sent.
    message         jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'retrying', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (next_attempt_at)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX notify_deliveries_updated ON notify_deliveries (updated_at);

-- Slack (incoming webhook, Block Kit) and Microsoft Teams (workflow webhook, Adaptive Card):
-- their URL is their credential, sealed like the others.
ALTER TABLE notify_sinks DROP CONSTRAINT notify_sinks_kind_check;
ALTER TABLE notify_sinks ADD CONSTRAINT notify_sinks_kind_check
    CHECK (kind IN ('webhook', 'alertmanager', 'slack', 'teams'));
