-- Reliability reads at fleet scale (issue 17): a window's figures per object were the sum of
-- its daily rows, one per object per day: 3,000,000 rows hashed for 30 days of a
-- 100,000-object fleet (1.4 s). Each daily row now also carries the object's running totals
-- since its first roll-up (`cum_*`, the day's own figures included), so that a window's
-- figures are the running totals of the object's last row in the window minus those of its
-- first row there plus that row's own figures: two rows per object, whatever the window's
-- length, read by the primary key's day ranges.
--
-- Written by the roll-up job with each row (its previous row's totals plus its figures);
-- re-closing a day rewrites the days after it too (history::rollups), so totals stay chained.
-- Pruning old days leaves later totals intact: a window never subtracts a row before itself.
ALTER TABLE reliability_daily
    ADD COLUMN cum_observed_secs   double precision NOT NULL DEFAULT 0,
    ADD COLUMN cum_failed_secs     double precision NOT NULL DEFAULT 0,
    ADD COLUMN cum_stalled_secs    double precision NOT NULL DEFAULT 0,
    ADD COLUMN cum_failures        bigint NOT NULL DEFAULT 0,
    ADD COLUMN cum_transitions     bigint NOT NULL DEFAULT 0,
    ADD COLUMN cum_recoveries      bigint NOT NULL DEFAULT 0,
    ADD COLUMN cum_recovery_secs   double precision NOT NULL DEFAULT 0;

UPDATE reliability_daily d SET
    cum_observed_secs = s.observed, cum_failed_secs = s.failed, cum_stalled_secs = s.stalled,
    cum_failures = s.failures, cum_transitions = s.transitions, cum_recoveries = s.recoveries,
    cum_recovery_secs = s.recovery
FROM (SELECT day, resource_id,
             sum(observed_secs) OVER w AS observed, sum(failed_secs) OVER w AS failed,
             sum(stalled_secs) OVER w AS stalled, sum(failures) OVER w AS failures,
             sum(transitions) OVER w AS transitions, sum(recoveries) OVER w AS recoveries,
             sum(recovery_secs) OVER w AS recovery
      FROM reliability_daily
      WINDOW w AS (PARTITION BY resource_id ORDER BY day)) s
WHERE d.day = s.day AND d.resource_id = s.resource_id;

-- The rows of objects deleted that day: with the last day's rows, they are every object's last
-- row in a window (an object deleted within the window has no row on its last day).
CREATE INDEX reliability_daily_deleted_idx ON reliability_daily (day) WHERE end_health IS NULL;
