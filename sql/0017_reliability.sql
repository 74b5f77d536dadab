-- Reliability figures (issue 17, part 3): daily roll-ups of each object's health over time,
-- computed from the change log (`resource_changes`) by one replica at a time
-- (`history::rollups`), so that the figures outlive the log's retention.
--
-- Retention: `FLUXO_RELIABILITY_RETENTION_DAYS` (400 by default) deletes closed days older
-- than that; their rows go with them (foreign key).

-- The UTC days whose roll-ups are written ("closed"). A day is closed once after midnight
-- UTC plus a grace; closing it again replaces its rows.
CREATE TABLE reliability_days (
    day          date PRIMARY KEY,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    -- Rows written for the day.
    objects      integer NOT NULL
);

-- One row per object that existed (or changed) during a closed day. The key, the cluster's
-- name included, is copied so that a row still means something after the object, its
-- cluster and its changes are gone.
CREATE TABLE reliability_daily (
    day                 date NOT NULL REFERENCES reliability_days (day) ON DELETE CASCADE,
    resource_id         uuid NOT NULL,
    cluster_id          uuid NOT NULL,
    cluster_name        text,
    api_group           text NOT NULL,
    kind                text NOT NULL,
    namespace           text NOT NULL,
    name                text NOT NULL,
    -- Seconds of the day the object existed, was failed, was stalled.
    observed_secs       double precision NOT NULL,
    failed_secs         double precision NOT NULL,
    stalled_secs        double precision NOT NULL,
    -- Entries into `failed`; health changes of an existing object; broken spells ended by
    -- `ready` and their summed length (from their start, which may be on an earlier day).
    failures            integer NOT NULL,
    transitions         integer NOT NULL,
    recoveries          integer NOT NULL,
    recovery_secs       double precision NOT NULL,
    -- The object's health at the end of the day (NULL: deleted) and the start of the broken
    -- spell still open then: the next day starts from them.
    end_health          text
                        CHECK (end_health IN ('ready', 'progressing', 'failed', 'stalled', 'suspended', 'unknown')),
    broken_since        timestamptz,
    PRIMARY KEY (day, resource_id)
);
CREATE INDEX reliability_daily_cluster_idx ON reliability_daily (cluster_id, day);
-- The key of an object deleted within a window (it has no row on the window's last day).
CREATE INDEX reliability_daily_resource_idx ON reliability_daily (resource_id, day);
