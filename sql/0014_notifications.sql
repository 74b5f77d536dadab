-- Fleet notifications (issue #19): where messages go (sinks), what is sent (rules), and what
-- is held back for a while (mutes). Configuration, like `clusters`: no retention; a mute
-- expires by its `expires_at` and stays as a record of who muted what.

CREATE TABLE notify_sinks (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    kind        text NOT NULL CHECK (kind IN ('webhook', 'alertmanager')),
    -- scheme://host[:port] only: paths and queries of webhook URLs often hold tokens.
    endpoint    text NOT NULL,
    -- plain http:// was allowed explicitly.
    insecure    boolean NOT NULL DEFAULT false,
    -- AES-GCM sealed JSON {url, secret} (clusters::crypto, the sink id as associated data).
    credentials bytea NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notify_rules (
    id                uuid PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    -- a sink in use cannot be deleted: delete its rules first.
    sink_id           uuid NOT NULL REFERENCES notify_sinks (id) ON DELETE RESTRICT,
    -- {clusters, clusterLabels, kinds, namespaces, namePrefix}, validated by the API.
    filter            jsonb NOT NULL,
    condition         text NOT NULL CHECK (condition IN ('failed', 'stalled', 'stillFailed',
                          'recovered', 'clusterUnreachable', 'clusterDegraded', 'clusterRecovered')),
    after_minutes     integer CHECK (after_minutes BETWEEN 1 AND 1440),
    group_window_secs integer NOT NULL DEFAULT 30 CHECK (group_window_secs BETWEEN 0 AND 3600),
    enabled           boolean NOT NULL DEFAULT true,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((condition = 'stillFailed') = (after_minutes IS NOT NULL))
);
CREATE INDEX notify_rules_sink ON notify_rules (sink_id);

CREATE TABLE notify_mutes (
    id         uuid PRIMARY KEY,
    -- null: every rule.
    rule_id    uuid REFERENCES notify_rules (id) ON DELETE CASCADE,
    -- the same shape as a rule's filter; objects it matches are not notified.
    filter     jsonb NOT NULL,
    reason     text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notify_mutes_expiry ON notify_mutes (expires_at);
