//! The delivery log (`notify_deliveries`): what the sender picks up, the outcome of each
//! attempt, the API's pages, and retention. Rows are created by `Store::notify_flush`
//! (`notify_engine.rs`); see its protocol.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Result, Store};

/// One delivery (a message to one sink) and its latest attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRow {
    /// Position in the log (pages are ordered by it, newest first).
    pub id: i64,
    /// The idempotency key: the same on every attempt.
    pub key: Uuid,
    /// The rule (`None` once deleted).
    pub rule_id: Option<Uuid>,
    /// The rule's name when the message was made.
    pub rule_name: String,
    /// The sink.
    pub sink_id: Uuid,
    /// The sink's name when the message was made.
    pub sink_name: String,
    /// `firing`, `resolved` or `recovered`.
    pub action: String,
    /// The rule's condition.
    pub condition: String,
    /// The summary line.
    pub summary: String,
    /// `{items, afterMinutes}`.
    pub message: serde_json::Value,
    /// `pending`, `sent`, `retrying` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due (pending, retrying).
    pub next_attempt_at: DateTime<Utc>,
    /// The sink's last HTTP status.
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, key, rule_id, rule_name, sink_id, sink_name, action, condition, summary, \
                       message, state, attempts, next_attempt_at, last_status, last_error, \
                       created_at, updated_at";

fn delivery(r: &tokio_postgres::Row) -> DeliveryRow {
    DeliveryRow {
        id: r.get(0),
        key: r.get(1),
        rule_id: r.get(2),
        rule_name: r.get(3),
        sink_id: r.get(4),
        sink_name: r.get(5),
        action: r.get(6),
        condition: r.get(7),
        summary: r.get(8),
        message: r.get(9),
        state: r.get(10),
        attempts: r.get(11),
        next_attempt_at: r.get(12),
        last_status: r.get(13),
        last_error: r.get(14),
        created_at: r.get(15),
        updated_at: r.get(16),
    }
}

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// `sent`, `retrying` or `failed`.
    pub state: &'static str,
    /// The sink's HTTP status, if it answered.
    pub status: Option<i32>,
    /// Why it failed.
    pub error: Option<String>,
    /// When to try again (`retrying`).
    pub retry_in: Duration,
}

/// Which deliveries a page lists.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only this sink's.
    pub sink: Option<Uuid>,
    /// Only this rule's.
    pub rule: Option<Uuid>,
    /// Only in this state.
    pub state: Option<String>,
    /// Only older than this id (the previous page's cursor).
    pub before: Option<i64>,
}

impl Store {
    /// Deliveries due for an attempt, oldest first, leaving out `busy` (in flight here) and
    /// those of the sinks in `full` (as many in flight as allowed).
    pub async fn due_deliveries(
        &self,
        busy: &[i64],
        full: &[Uuid],
        limit: i64,
    ) -> Result<Vec<DeliveryRow>> {
        let conn = self.conn().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM notify_deliveries WHERE state IN ('pending', 'retrying') \
             AND next_attempt_at <= now() AND NOT (id = ANY($1)) AND NOT (sink_id = ANY($2)) \
             ORDER BY next_attempt_at, id LIMIT $3"
        );
        Ok(conn
            .query(&sql, &[&busy, &full, &limit])
            .await?
            .iter()
            .map(delivery)
            .collect())
    }

    /// Record an attempt's outcome.
    pub async fn record_attempt(&self, id: i64, a: &Attempt) -> Result<()> {
        let conn = self.conn().await?;
        let secs = a.retry_in.as_secs_f64();
        conn.execute(
            "UPDATE notify_deliveries SET state = $2, attempts = attempts + 1, last_status = $3, \
             last_error = $4, next_attempt_at = now() + make_interval(secs => $5::float8), \
             updated_at = now() WHERE id = $1",
            &[&id, &a.state, &a.status, &a.error, &secs],
        )
        .await?;
        Ok(())
    }

    /// A page of the delivery log, newest first.
    pub async fn list_deliveries(
        &self,
        f: &DeliveryFilter,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>> {
        let conn = self.read_conn().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM notify_deliveries WHERE ($1::uuid IS NULL OR sink_id = $1) \
             AND ($2::uuid IS NULL OR rule_id = $2) AND ($3::text IS NULL OR state = $3) \
             AND ($4::bigint IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
        );
        Ok(conn
            .query(&sql, &[&f.sink, &f.rule, &f.state, &f.before, &limit])
            .await?
            .iter()
            .map(delivery)
            .collect())
    }

    /// Retention: delete finished deliveries (sent, failed) last changed before `max_age`,
    /// and states of objects and clusters gone for an hour (their delete change has been
    /// evaluated by then); at most `batch` deliveries
    /// per call. Returns the rows deleted.
    pub async fn notify_prune(&self, max_age: Duration, batch: i64) -> Result<u64> {
        let conn = self.conn().await?;
        let secs = max_age.as_secs_f64();
        let deliveries = conn
            .execute(
                "DELETE FROM notify_deliveries WHERE id IN (SELECT id FROM notify_deliveries \
                 WHERE state IN ('sent', 'failed') \
                 AND updated_at < now() - make_interval(secs => $1::float8) LIMIT $2)",
                &[&secs, &batch],
            )
            .await?;
        let states = conn
            .execute(
                "DELETE FROM notify_state s WHERE NOT EXISTS \
                 (SELECT 1 FROM flux_resources r WHERE r.id = s.object_id) \
                 AND NOT EXISTS (SELECT 1 FROM clusters c WHERE c.id = s.object_id) \
                 AND s.since < now() - interval '1 hour'",
                &[],
            )
            .await?;
        Ok(deliveries + states)
    }
}
