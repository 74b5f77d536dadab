//! Reliability roll-ups (`reliability_days`, `reliability_daily`): the SQL of closing a UTC
//! day and of reading figures back. The arithmetic is `history::figures` (pure); the job that
//! decides which days to close is `history::rollups`.
//!
//! The protocol of closing a day, as invariants:
//!
//! 1. **Only complete days.** A day is closed after midnight UTC plus a grace, and only after a
//!    barrier on the log lock ([`Store::log_barrier`]): every batch that started before it has
//!    committed, so every change stamped within the day is visible.
//! 2. **One replica at a time.** Closing takes `pg_try_advisory_xact_lock(ROLLUP_LOCK)`; a
//!    replica that does not get it skips the day (the holder is closing it).
//! 3. **Idempotent per day.** A day's rows are deleted and written again in one transaction,
//!    with its `reliability_days` row: re-closing a day replaces it, and a reader sees the old
//!    rows or the new ones, never a mix.
//! 4. **Days chain.** A day starts from the previous day's end states (`end_health`,
//!    `broken_since`), so a roll-up needs no change older than its own day: figures outlive
//!    the change log.
//!
//! Closing a day adds no data a reader could not already compute from the change log (the
//! open days are computed on read with the same arithmetic), so it logs no change and sends
//! no notification: a page reads the same figures before and after.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::resources::LOG_LOCK;
use super::types::column;
use super::{Result, Store};
use crate::flux::Health;

/// The advisory lock of the roll-up job (its own space: "fluxrlup").
const ROLLUP_LOCK: i64 = 0x666c_7578_726c_7570;

/// Who an object is, copied into each roll-up row so it outlives the object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectKey {
    /// Cluster id.
    pub cluster_id: Uuid,
    /// Cluster name when known (the cluster may be deleted).
    pub cluster: Option<String>,
    /// API group.
    pub api_group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// A health change of one object from the change log.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// The health before (None: not stored before).
    pub before: Option<Health>,
    /// The health after (None: deleted).
    pub after: Option<Health>,
}

/// An object's state at an instant: what a day or a window starts from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Carry {
    /// Its health (None: it does not exist).
    pub health: Option<Health>,
    /// The start of its open broken spell (failed or stalled, not yet ready again).
    pub broken_since: Option<DateTime<Utc>>,
}

/// What one object did over a span of time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Seconds it existed.
    pub observed_secs: f64,
    /// Seconds it was failed.
    pub failed_secs: f64,
    /// Seconds it was stalled.
    pub stalled_secs: f64,
    /// Entries into `failed` (first sights as failed included).
    pub failures: i64,
    /// Health changes while it existed.
    pub transitions: i64,
    /// Broken spells ended by `ready`.
    pub recoveries: i64,
    /// Summed length of those spells.
    pub recovery_secs: f64,
}

impl Figures {
    /// Add `other`'s figures to these.
    pub fn add(&mut self, other: &Figures) {
        self.observed_secs += other.observed_secs;
        self.failed_secs += other.failed_secs;
        self.stalled_secs += other.stalled_secs;
        self.failures += other.failures;
        self.transitions += other.transitions;
        self.recoveries += other.recoveries;
        self.recovery_secs += other.recovery_secs;
    }
}

/// One object over a day or a window: who, what it did, and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectFigures {
    /// Object id.
    pub id: Uuid,
    /// Who.
    pub key: ObjectKey,
    /// What it did.
    pub figures: Figures,
    /// Its state at the end.
    pub end: Carry,
}

/// Objects' states at an instant, with their keys.
pub type States = HashMap<Uuid, (ObjectKey, Carry)>;

/// The health changes of a span, per object in log order, with their keys.
pub type Steps = HashMap<Uuid, (ObjectKey, Vec<Step>)>;

/// Which roll-up rows a reader wants; empty lists select everything.
#[derive(Debug, Clone, Default)]
pub struct RollupFilter {
    /// Only these clusters (None: any, deleted clusters included).
    pub cluster_ids: Option<Vec<Uuid>>,
    /// Only these kinds.
    pub kinds: Vec<String>,
    /// Only these namespaces.
    pub namespaces: Vec<String>,
}

impl RollupFilter {
    /// Whether `key` passes the filter (for figures computed outside SQL).
    pub fn matches(&self, key: &ObjectKey) -> bool {
        self.cluster_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&key.cluster_id))
            && (self.kinds.is_empty() || self.kinds.contains(&key.kind))
            && (self.namespaces.is_empty() || self.namespaces.contains(&key.namespace))
    }
}

/// The key in columns `at..at + 6` (cluster id, cluster name, group, kind, namespace, name).
fn key(r: &Row, at: usize) -> ObjectKey {
    ObjectKey {
        cluster_id: r.get(at),
        cluster: r.get(at + 1),
        api_group: r.get(at + 2),
        kind: r.get(at + 3),
        namespace: r.get(at + 4),
        name: r.get(at + 5),
    }
}

/// Which pool a read runs on: API reads under the statement timeout, the roll-up job's on
/// the main pool (closing a day reads the whole day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// A request's read (`GET /api/v1/reliability`).
    Api,
    /// The roll-up job.
    Job,
}

/// UTC midnight starting `day`.
pub fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

impl Store {
    /// Wait until every writer batch that started before now has committed (take the log lock
    /// and let it go).
    pub async fn log_barrier(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The closed days from `from` on, oldest first.
    pub async fn closed_days(&self, reader: Reader, from: NaiveDate) -> Result<Vec<NaiveDate>> {
        let conn = self.reader(reader).await?;
        let rows = conn
            .query(
                "SELECT day FROM reliability_days WHERE day >= $1 ORDER BY day",
                &[&from],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The newest closed day, if any.
    pub async fn last_closed_day(&self, reader: Reader) -> Result<Option<NaiveDate>> {
        let conn = self.reader(reader).await?;
        let row = conn
            .query_one("SELECT max(day) FROM reliability_days", &[])
            .await?;
        Ok(row.get(0))
    }

    /// A connection for `reader`: the job's decide what it writes, so they read the primary.
    pub(in crate::store) async fn reader(
        &self,
        reader: Reader,
    ) -> Result<deadpool_postgres::Object> {
        match reader {
            Reader::Api => self.read_conn().await,
            Reader::Job => self.conn().await,
        }
    }

    /// The health changes, first sights and deletions in `[from, to)`, per object in log order.
    pub async fn health_steps(
        &self,
        reader: Reader,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Steps> {
        let conn = self.reader(reader).await?;
        let rows = conn
            .query(
                "SELECT h.resource_id, h.at, h.health_before, \
                        CASE WHEN h.op = 'delete' THEN NULL ELSE h.health_after END, \
                        h.cluster_id, c.name, h.api_group, h.kind, h.namespace, h.name \
                 FROM resource_changes h LEFT JOIN clusters c ON c.id = h.cluster_id \
                 WHERE h.at >= $1 AND h.at < $2 AND h.op <> 'event' \
                   AND (h.op = 'delete' OR h.health_before IS DISTINCT FROM h.health_after) \
                 ORDER BY h.resource_id, h.seq",
                &[&from, &to],
            )
            .await?;
        let mut steps = Steps::new();
        for r in &rows {
            let step = Step {
                at: r.get(1),
                before: column(r, 2)?,
                after: column(r, 3)?,
            };
            steps
                .entry(r.get(0))
                .or_insert_with(|| (key(r, 4), Vec::new()))
                .1
                .push(step);
        }
        Ok(steps)
    }

    /// The end states of closed `day` (objects that still existed); None when `day` is not
    /// closed.
    pub async fn day_end_states(&self, reader: Reader, day: NaiveDate) -> Result<Option<States>> {
        let conn = self.reader(reader).await?;
        if conn
            .query_opt("SELECT 1 FROM reliability_days WHERE day = $1", &[&day])
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let rows = conn
            .query(
                "SELECT d.resource_id, d.end_health, d.broken_since, d.cluster_id, \
                        COALESCE(c.name, d.cluster_name), d.api_group, d.kind, d.namespace, d.name \
                 FROM reliability_daily d LEFT JOIN clusters c ON c.id = d.cluster_id \
                 WHERE d.day = $1 AND d.end_health IS NOT NULL",
                &[&day],
            )
            .await?;
        let mut states = States::new();
        for r in &rows {
            let carry = Carry {
                health: column(r, 1)?,
                broken_since: r.get(2),
            };
            states.insert(r.get(0), (key(r, 3), carry));
        }
        Ok(Some(states))
    }

    /// Every object's state at `at` as the change log and the stored objects tell it, for a
    /// span no closed day precedes: an object whose first change at or after `at` had a health
    /// before had that health at `at`; a stored object without any such change has had its
    /// current health since before `at`. A broken object's spell is taken to start at `at`.
    pub async fn log_states(&self, reader: Reader, at: DateTime<Utc>) -> Result<States> {
        let conn = self.reader(reader).await?;
        let rows = conn
            .query(
                "WITH first AS (SELECT DISTINCT ON (resource_id) resource_id, health_before, cluster_id, \
                                       api_group, kind, namespace, name \
                                FROM resource_changes WHERE at >= $1 AND op <> 'event' \
                                ORDER BY resource_id, seq) \
                 SELECT f.resource_id, f.health_before, f.cluster_id, c.name, f.api_group, f.kind, \
                        f.namespace, f.name \
                 FROM first f LEFT JOIN clusters c ON c.id = f.cluster_id WHERE f.health_before IS NOT NULL \
                 UNION ALL \
                 SELECT r.id, r.health, r.cluster_id, c.name, r.api_group, r.kind, r.namespace, r.name \
                 FROM flux_resources r JOIN clusters c ON c.id = r.cluster_id \
                 WHERE NOT EXISTS (SELECT 1 FROM first f WHERE f.resource_id = r.id)",
                &[&at],
            )
            .await?;
        let mut states = States::new();
        for r in &rows {
            let health: Option<Health> = column(r, 1)?;
            let broken = matches!(health, Some(Health::Failed | Health::Stalled));
            let carry = Carry {
                health,
                broken_since: broken.then_some(at),
            };
            states.insert(r.get(0), (key(r, 2), carry));
        }
        Ok(states)
    }

    /// Replace closed `day`'s roll-ups with `rows`, unless another replica holds the roll-up
    /// lock (false: skipped).
    pub async fn write_day(&self, day: NaiveDate, rows: &[ObjectFigures]) -> Result<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let got: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&ROLLUP_LOCK])
            .await?
            .get(0);
        if !got {
            return Ok(false);
        }
        tx.execute("DELETE FROM reliability_days WHERE day = $1", &[&day])
            .await?;
        tx.execute(
            "INSERT INTO reliability_days (day, objects) VALUES ($1, $2)",
            &[&day, &(rows.len() as i32)],
        )
        .await?;
        for chunk in rows.chunks(5_000) {
            insert_rows(&tx, day, chunk).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Per object, the summed roll-ups of the closed days in `[from, to)` that `filter`
    /// selects, with each object's key and its state at the end of the last of those days
    /// (`to - 1`, the last closed day: an object that still existed then has a row of that
    /// day; the others were deleted, and their keys are read from their last row).
    ///
    /// Two rows per object instead of one per object and day: the running totals of its last
    /// row in the window minus those of its first row there, plus that row's own figures
    /// ([`CLOSED_FIGURES`]). Summing every row took 1.4 s for 100,000 objects × 30 days (3 M
    /// rows, parallel hash aggregate; 11 s with the first cut's ordered `array_agg`).
    pub async fn closed_figures(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        filter: &RollupFilter,
    ) -> Result<Vec<ObjectFigures>> {
        let last = to.pred_opt().unwrap_or(to);
        let mut conn = self.read_conn().await?;
        // JIT compilation cost 150 ms of a 400 ms read of 20,000 objects (its estimate crosses
        // the JIT threshold; the plan is index range scans and lookups, which JIT cannot speed).
        let tx = conn.transaction().await?;
        tx.batch_execute("SET LOCAL jit = off").await?;
        // Days before a day the job could not close (usually none), as a value: as a subquery
        // the planner joined every row of the window with them before finding none (7.6 s at
        // 100,000 objects × 30 days).
        let breaks: Vec<NaiveDate> = tx
            .query(BREAKS, &[&from, &last])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let rows = tx
            .query(
                CLOSED_FIGURES,
                &[
                    &from,
                    &to,
                    &last,
                    &filter.cluster_ids,
                    &filter.kinds,
                    &filter.namespaces,
                    &breaks,
                ],
            )
            .await?;
        tx.commit().await?;
        rows.iter().map(closed_row).collect()
    }

    /// Delete closed days before `before`; how many.
    pub async fn prune_rollups(&self, before: NaiveDate) -> Result<u64> {
        let conn = self.conn().await?;
        Ok(conn
            .execute("DELETE FROM reliability_days WHERE day < $1", &[&before])
            .await?)
    }
}

/// The filter of [`CLOSED_FIGURES`] on rows aliased `d` ($4: clusters or NULL, $5: kinds,
/// $6: namespaces; empty lists select everything).
macro_rules! rollup_filter {
    ($d:literal) => {
        concat!(
            "($4::uuid[] IS NULL OR ",
            $d,
            ".cluster_id = ANY($4)) \
             AND (cardinality($5::text[]) = 0 OR ",
            $d,
            ".kind = ANY($5)) \
             AND (cardinality($6::text[]) = 0 OR ",
            $d,
            ".namespace = ANY($6))"
        )
    };
}

/// The closed days in `[$1, $2)` whose next day is not closed.
const BREAKS: &str = "SELECT r.day FROM reliability_days r WHERE r.day >= $1 AND r.day < $2 \
     AND NOT EXISTS (SELECT 1 FROM reliability_days n WHERE n.day = r.day + 1)";

/// Per object with a row in the closed days `[$1, $2)` ($3: the last of them; $7: the days
/// before a day that is not closed, [`BREAKS`]), its figures
/// there and its key and end state (columns as [`closed_row`] reads them).
///
/// An object's last row in the window is its row of the last day, or (deleted earlier, or
/// before a day the job could not close) its last row in the window that is followed by no
/// other there: a deletion's or one on the eve of a missing day. The two are separate
/// branches: as one `OR`, the planner scanned every row of the window and hashed them all for
/// the `NOT EXISTS` (3.2 s for 20,000 objects × 30 days, against 75 ms). Its first row in the window
/// is its row of the window's first closed day, or (created later) its first row from `$1` on,
/// looked up by the object's index only for the objects without the former. The figures are
/// `last.cum - first.cum + first's own`: the running totals' difference leaves out every row
/// before the window, pruned or not.
const CLOSED_FIGURES: &str = concat!(
    "WITH first_day AS (SELECT min(day) AS day FROM reliability_days WHERE day >= $1 AND day < $2), \
     ends AS ( \
       SELECT l.* FROM reliability_daily l WHERE l.day = $3 AND ",
    rollup_filter!("l"),
    " UNION ALL \
       SELECT l.* FROM reliability_daily l \
       WHERE l.end_health IS NULL AND l.day >= $1 AND l.day < $3 AND ",
    rollup_filter!("l"),
    " AND NOT EXISTS (SELECT 1 FROM reliability_daily x \
                         WHERE x.resource_id = l.resource_id AND x.day > l.day AND x.day <= $3) \
       UNION ALL \
       SELECT l.* FROM reliability_daily l WHERE l.day = ANY($7) AND l.end_health IS NOT NULL AND ",
    rollup_filter!("l"),
    " AND NOT EXISTS (SELECT 1 FROM reliability_daily x \
                         WHERE x.resource_id = l.resource_id AND x.day > l.day AND x.day <= $3)) \
     SELECT e.resource_id, \
            e.cum_observed_secs - s.cum_observed_secs + s.observed_secs, \
            e.cum_failed_secs - s.cum_failed_secs + s.failed_secs, \
            e.cum_stalled_secs - s.cum_stalled_secs + s.stalled_secs, \
            e.cum_failures - s.cum_failures + s.failures, \
            e.cum_transitions - s.cum_transitions + s.transitions, \
            e.cum_recoveries - s.cum_recoveries + s.recoveries, \
            e.cum_recovery_secs - s.cum_recovery_secs + s.recovery_secs, \
            CASE WHEN e.day = $3 THEN e.end_health END, CASE WHEN e.day = $3 THEN e.broken_since END, \
            e.cluster_id, COALESCE(c.name, e.cluster_name), e.api_group, e.kind, e.namespace, e.name \
     FROM ends e \
     LEFT JOIN reliability_daily f ON f.day = (SELECT day FROM first_day) AND f.resource_id = e.resource_id \
     LEFT JOIN LATERAL (SELECT x.* FROM reliability_daily x \
                        WHERE f.resource_id IS NULL AND x.resource_id = e.resource_id AND x.day >= $1 \
                        ORDER BY x.day LIMIT 1) later ON true \
     CROSS JOIN LATERAL (SELECT COALESCE(f.cum_observed_secs, later.cum_observed_secs) AS cum_observed_secs, \
                                COALESCE(f.observed_secs, later.observed_secs) AS observed_secs, \
                                COALESCE(f.cum_failed_secs, later.cum_failed_secs) AS cum_failed_secs, \
                                COALESCE(f.failed_secs, later.failed_secs) AS failed_secs, \
                                COALESCE(f.cum_stalled_secs, later.cum_stalled_secs) AS cum_stalled_secs, \
                                COALESCE(f.stalled_secs, later.stalled_secs) AS stalled_secs, \
                                COALESCE(f.cum_failures, later.cum_failures) AS cum_failures, \
                                COALESCE(f.failures, later.failures) AS failures, \
                                COALESCE(f.cum_transitions, later.cum_transitions) AS cum_transitions, \
                                COALESCE(f.transitions, later.transitions) AS transitions, \
                                COALESCE(f.cum_recoveries, later.cum_recoveries) AS cum_recoveries, \
                                COALESCE(f.recoveries, later.recoveries) AS recoveries, \
                                COALESCE(f.cum_recovery_secs, later.cum_recovery_secs) AS cum_recovery_secs, \
                                COALESCE(f.recovery_secs, later.recovery_secs) AS recovery_secs) s \
     LEFT JOIN clusters c ON c.id = e.cluster_id"
);

/// One row of [`CLOSED_FIGURES`]: an object's figures, end state (none when it was gone at
/// the end) and key.
fn closed_row(r: &Row) -> Result<ObjectFigures> {
    Ok(ObjectFigures {
        id: r.get(0),
        figures: Figures {
            observed_secs: r.get(1),
            failed_secs: r.get(2),
            stalled_secs: r.get(3),
            failures: r.get(4),
            transitions: r.get(5),
            recoveries: r.get(6),
            recovery_secs: r.get(7),
        },
        end: Carry {
            health: column(r, 8)?,
            broken_since: r.get(9),
        },
        key: key(r, 10),
    })
}

/// A chunk of a day's rows ($1: the day, then one array per column), each with its running
/// totals: those of the object's previous row (the days before are final: a re-closed day is
/// followed by its later days, in order) plus its own figures.
const INSERT_ROWS: &str = "\
INSERT INTO reliability_daily (day, resource_id, cluster_id, cluster_name, api_group, kind, namespace, \
       name, observed_secs, failed_secs, stalled_secs, failures, transitions, recoveries, recovery_secs, \
       end_health, broken_since, cum_observed_secs, cum_failed_secs, cum_stalled_secs, cum_failures, \
       cum_transitions, cum_recoveries, cum_recovery_secs) \
SELECT $1, u.*, COALESCE(p.cum_observed_secs, 0) + u.observed, COALESCE(p.cum_failed_secs, 0) + u.failed, \
       COALESCE(p.cum_stalled_secs, 0) + u.stalled, COALESCE(p.cum_failures, 0) + u.failures, \
       COALESCE(p.cum_transitions, 0) + u.transitions, COALESCE(p.cum_recoveries, 0) + u.recoveries, \
       COALESCE(p.cum_recovery_secs, 0) + u.recovery \
FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
            $9::float8[], $10::float8[], $11::float8[], $12::int4[], $13::int4[], $14::int4[], \
            $15::float8[], $16::text[], $17::timestamptz[]) \
     AS u(id, cluster_id, cluster_name, api_group, kind, namespace, name, observed, failed, stalled, \
          failures, transitions, recoveries, recovery, end_health, broken_since) \
LEFT JOIN LATERAL (SELECT * FROM reliability_daily p WHERE p.resource_id = u.id AND p.day < $1 \
                   ORDER BY p.day DESC LIMIT 1) p ON true";

/// Insert one chunk of a day's rows (one statement, arrays unnested).
async fn insert_rows(
    tx: &tokio_postgres::Transaction<'_>,
    day: NaiveDate,
    rows: &[ObjectFigures],
) -> Result<()> {
    let col = |f: fn(&ObjectFigures) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let int = |f: fn(&ObjectFigures) -> i64| rows.iter().map(|r| f(r) as i32).collect::<Vec<_>>();
    let text = |f: fn(&ObjectKey) -> &str| {
        rows.iter()
            .map(|r| f(&r.key).to_string())
            .collect::<Vec<_>>()
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let clusters: Vec<Uuid> = rows.iter().map(|r| r.key.cluster_id).collect();
    let names: Vec<Option<String>> = rows.iter().map(|r| r.key.cluster.clone()).collect();
    let ends: Vec<Option<&str>> = rows
        .iter()
        .map(|r| r.end.health.map(|h| h.as_str()))
        .collect();
    let since: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.end.broken_since).collect();
    tx.execute(
        INSERT_ROWS,
        &[
            &day,
            &ids,
            &clusters,
            &names,
            &text(|k| &k.api_group),
            &text(|k| &k.kind),
            &text(|k| &k.namespace),
            &text(|k| &k.name),
            &col(|r| r.figures.observed_secs),
            &col(|r| r.figures.failed_secs),
            &col(|r| r.figures.stalled_secs),
            &int(|r| r.figures.failures),
            &int(|r| r.figures.transitions),
            &int(|r| r.figures.recoveries),
            &col(|r| r.figures.recovery_secs),
            &ends,
            &since,
        ],
    )
    .await?;
    Ok(())
}
