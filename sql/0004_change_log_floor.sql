-- How far retention has pruned the change log: every seq up to `pruned_through` is gone, so a
-- replay that starts below it would miss changes (the stream answers `resync: too_old`).
-- seq values can also be missing because their transaction rolled back; only this row tells
-- the two apart.
CREATE TABLE change_log_floor (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    pruned_through  bigint NOT NULL DEFAULT 0
);
INSERT INTO change_log_floor DEFAULT VALUES;
