//! The notification engine's tables (`notify_cursor`, `notify_state`, `notify_queue`,
//! `notify_deliveries`) and its lock.
//!
//! # Protocol (invariants)
//! 1. **One engine.** Only the holder of the session-level advisory lock [`ENGINE_LOCK`], taken
//!    on a dedicated connection ([`EngineLock`]), evaluates and sends. If that connection dies,
//!    PostgreSQL releases the lock and another replica takes it.
//! 2. **Cursor with the work.** [`Store::notify_advance`] reads the changes after
//!    `notify_cursor.seq` (row locked `FOR UPDATE`), writes the state and queue rows they cause
//!    and moves the cursor, in one transaction: a change is evaluated once, or again after a
//!    crash (never lost), and a second engine that somehow runs waits on the row.
//! 3. **Outbox before sending.** [`Store::notify_flush`] turns a rule's queued items whose
//!    window has passed into one `notify_deliveries` row and deletes them, in one transaction.
//!    Sending happens after commit; the row's outcome is written after the sink answers, so a
//!    replica dying mid-send leaves the row due and the next engine sends it again, under the
//!    same idempotency key (`key`): at least once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::changes::{CHANGE_COLUMNS, ChangeEntry};
use super::listen::{Channel, Listener, Notification};
use super::{Result, Store};

/// Advisory lock key of the notification engine ("fluxnotf" in ASCII).
pub const ENGINE_LOCK: i64 = 0x666c_7578_6e6f_7466;

/// A rule's state for one object (a `notify_state` row).
#[derive(Debug, Clone, PartialEq)]
pub struct StateRow {
    /// The rule.
    pub rule_id: Uuid,
    /// The object (resource id) or cluster (cluster id).
    pub object_id: Uuid,
    /// `waiting` or `firing`.
    pub state: String,
    /// When the failure began.
    pub since: DateTime<Utc>,
    /// When a `waiting` state fires.
    pub due_at: Option<DateTime<Utc>>,
    /// The message item.
    pub item: serde_json::Value,
}

/// An item for a rule's grouping window.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    /// The rule.
    pub rule_id: Uuid,
    /// `firing`, `resolved` or `recovered`.
    pub action: &'static str,
    /// The object or cluster.
    pub object_id: Uuid,
    /// The message item.
    pub item: serde_json::Value,
}

/// What one evaluation writes.
#[derive(Debug, Default)]
pub struct Plan {
    /// States to insert or replace.
    pub upserts: Vec<StateRow>,
    /// States to delete (rule, object).
    pub deletes: Vec<(Uuid, Uuid)>,
    /// Items to queue.
    pub queue: Vec<QueueItem>,
}

/// A cluster as the engine sees it.
#[derive(Debug, Clone)]
pub struct ClusterState {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `cluster_status.state` (`connecting` when none is written yet).
    pub state: String,
    /// `cluster_status.message`.
    pub message: String,
}

/// The items of one rule and action whose window has passed.
#[derive(Debug, Clone)]
pub struct Group {
    /// The rule.
    pub rule_id: Uuid,
    /// Its name.
    pub rule_name: String,
    /// Its condition.
    pub condition: String,
    /// Its minutes (`stillFailed`).
    pub after_minutes: Option<i32>,
    /// Its sink.
    pub sink_id: Uuid,
    /// The sink's name.
    pub sink_name: String,
    /// `firing`, `resolved` or `recovered`.
    pub action: String,
    /// The items, oldest first.
    pub items: Vec<serde_json::Value>,
}

/// The dedicated connection holding (or trying to hold) [`ENGINE_LOCK`]; it also listens
/// for committed changes, which wake the engine.
pub struct EngineLock {
    listener: Listener,
}

impl Store {
    /// Open the engine's connection, listening for changes.
    pub async fn engine_lock(&self) -> Result<EngineLock> {
        Ok(EngineLock {
            listener: self
                .listen(super::Role::NotifyEngine, &[Channel::Changes])
                .await?,
        })
    }
}

impl EngineLock {
    /// Try to become the engine; true if this connection holds the lock.
    pub async fn try_lead(&self) -> Result<bool> {
        let row = self
            .listener
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&ENGINE_LOCK])
            .await?;
        Ok(row.get(0))
    }

    /// Check that the connection (and so the lock) is still there.
    pub async fn check(&self) -> Result<()> {
        self.listener.client.simple_query("SELECT 1").await?;
        Ok(())
    }

    /// The next change notification (`Err` once the connection is gone); those already
    /// queued behind it are taken too (one evaluation covers them all).
    pub async fn next(&mut self) -> Result<Notification> {
        let first = self.listener.next().await?;
        while let Some(more) = self.listener.try_next() {
            more?;
        }
        Ok(first)
    }
}

/// Columns of [`StateRow`].
const STATE_COLUMNS: &str = "rule_id, object_id, state, since, due_at, item";

fn state_row(r: &tokio_postgres::Row) -> StateRow {
    StateRow {
        rule_id: r.get(0),
        object_id: r.get(1),
        state: r.get(2),
        since: r.get(3),
        due_at: r.get(4),
        item: r.get(5),
    }
}

/// Write a plan in three statements whatever its size (arrays unnested server-side): a round
/// trip per row made the engine's transaction grow with every rule a change matched.
async fn apply(tx: &Transaction<'_>, plan: &Plan) -> Result<()> {
    if !plan.upserts.is_empty() {
        let u = &plan.upserts;
        let rules: Vec<Uuid> = u.iter().map(|s| s.rule_id).collect();
        let objects: Vec<Uuid> = u.iter().map(|s| s.object_id).collect();
        let states: Vec<&str> = u.iter().map(|s| s.state.as_str()).collect();
        let since: Vec<DateTime<Utc>> = u.iter().map(|s| s.since).collect();
        let due: Vec<Option<DateTime<Utc>>> = u.iter().map(|s| s.due_at).collect();
        let items: Vec<&serde_json::Value> = u.iter().map(|s| &s.item).collect();
        // The keys are unique (one row per touched rule × object), as ON CONFLICT needs.
        tx.execute(
            "INSERT INTO notify_state (rule_id, object_id, state, since, due_at, item) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], \
             $5::timestamptz[], $6::jsonb[]) ON CONFLICT (rule_id, object_id) DO UPDATE \
             SET state = EXCLUDED.state, since = EXCLUDED.since, due_at = EXCLUDED.due_at, \
             item = EXCLUDED.item",
            &[&rules, &objects, &states, &since, &due, &items],
        )
        .await?;
    }
    if !plan.deletes.is_empty() {
        let (rules, objects): (Vec<Uuid>, Vec<Uuid>) = plan.deletes.iter().copied().unzip();
        tx.execute(
            "DELETE FROM notify_state s USING unnest($1::uuid[], $2::uuid[]) AS d(rule_id, object_id) \
             WHERE s.rule_id = d.rule_id AND s.object_id = d.object_id",
            &[&rules, &objects],
        )
        .await?;
    }
    if !plan.queue.is_empty() {
        let q = &plan.queue;
        let rules: Vec<Uuid> = q.iter().map(|i| i.rule_id).collect();
        let actions: Vec<&str> = q.iter().map(|i| i.action).collect();
        let objects: Vec<Uuid> = q.iter().map(|i| i.object_id).collect();
        let items: Vec<&serde_json::Value> = q.iter().map(|i| &i.item).collect();
        // In the plan's order: a message lists its items by queue id.
        tx.execute(
            "INSERT INTO notify_queue (rule_id, action, object_id, item) \
             SELECT r, a, o, i FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::jsonb[]) \
             WITH ORDINALITY AS q(r, a, o, i, n) ORDER BY n",
            &[&rules, &actions, &objects, &items],
        )
        .await?;
    }
    Ok(())
}

impl Store {
    /// Evaluate the next changes after the cursor (at most `limit`): `plan` gets them and the
    /// states held for their objects, and its writes commit with the cursor's advance. Returns
    /// how many log entries were consumed. The first run starts at the log's head.
    pub async fn notify_advance(
        &self,
        limit: i64,
        plan: impl FnOnce(&[ChangeEntry], &[StateRow]) -> Plan,
    ) -> Result<usize> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute(
            "INSERT INTO notify_cursor (seq) SELECT COALESCE(max(seq), 0) FROM resource_changes \
             ON CONFLICT (id) DO NOTHING",
            &[],
        )
        .await?;
        let cursor: i64 = tx
            .query_one("SELECT seq FROM notify_cursor FOR UPDATE", &[])
            .await?
            .get(0);
        let sql = format!(
            "SELECT {CHANGE_COLUMNS} FROM resource_changes h LEFT JOIN clusters c ON c.id = h.cluster_id \
             WHERE h.seq > $1 ORDER BY h.seq LIMIT $2"
        );
        let rows = tx.query(&sql, &[&cursor, &limit]).await?;
        let Some(last) = rows.last().map(|r| r.get::<_, i64>(0)) else {
            // Commit the cursor's first row: started at the head, it must stay there.
            tx.commit().await?;
            return Ok(0);
        };
        let changes = rows
            .iter()
            .map(|r| ChangeEntry::from_row_at(r, 0))
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<Uuid> = changes.iter().map(|c| c.resource_id).collect();
        let sql = format!("SELECT {STATE_COLUMNS} FROM notify_state WHERE object_id = ANY($1)");
        let states: Vec<StateRow> = tx
            .query(&sql, &[&ids])
            .await?
            .iter()
            .map(state_row)
            .collect();
        apply(&tx, &plan(&changes, &states)).await?;
        tx.execute("UPDATE notify_cursor SET seq = $1", &[&last])
            .await?;
        tx.commit().await?;
        Ok(changes.len())
    }

    /// The periodic part: `plan` gets every cluster with its state, the states held for
    /// clusters, and the `waiting` states now due; its writes commit together.
    pub async fn notify_scan(
        &self,
        plan: impl FnOnce(&[ClusterState], &[StateRow], &[StateRow]) -> Plan,
    ) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let clusters: Vec<ClusterState> = tx
            .query(
                "SELECT c.id, c.name, c.labels, COALESCE(s.state, 'connecting'), \
                 COALESCE(s.message, '') FROM clusters c \
                 LEFT JOIN cluster_status s ON s.cluster_id = c.id ORDER BY c.name",
                &[],
            )
            .await?
            .iter()
            .map(|r| ClusterState {
                id: r.get(0),
                name: r.get(1),
                labels: serde_json::from_value(r.get(2)).unwrap_or_default(),
                state: r.get(3),
                message: r.get(4),
            })
            .collect();
        let sql = format!(
            "SELECT {STATE_COLUMNS} FROM notify_state WHERE object_id IN (SELECT id FROM clusters)"
        );
        let held: Vec<StateRow> = tx.query(&sql, &[]).await?.iter().map(state_row).collect();
        let sql = format!(
            "SELECT {STATE_COLUMNS} FROM notify_state WHERE state = 'waiting' AND due_at <= now() \
             ORDER BY due_at LIMIT 1000 FOR UPDATE SKIP LOCKED"
        );
        let due: Vec<StateRow> = tx.query(&sql, &[]).await?.iter().map(state_row).collect();
        apply(&tx, &plan(&clusters, &held, &due)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Turn every rule's queued items whose window (from the oldest) has passed into one
    /// delivery each: `build` makes its summary; the row commits with the items' deletion.
    /// Returns the deliveries made.
    pub async fn notify_flush(&self, build: impl Fn(&Group) -> String) -> Result<usize> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let rows = tx
            .query(
                "SELECT q.rule_id, r.name, r.condition, r.after_minutes, r.sink_id, s.name, \
                 q.action, array_agg(q.id ORDER BY q.id), jsonb_agg(q.item ORDER BY q.id) \
                 FROM notify_queue q JOIN notify_rules r ON r.id = q.rule_id \
                 JOIN notify_sinks s ON s.id = r.sink_id \
                 GROUP BY q.rule_id, r.name, r.condition, r.after_minutes, r.sink_id, s.name, \
                 q.action, r.group_window_secs \
                 HAVING min(q.at) + make_interval(secs => r.group_window_secs) <= now()",
                &[],
            )
            .await?;
        for r in &rows {
            let items: serde_json::Value = r.get(8);
            let group = Group {
                rule_id: r.get(0),
                rule_name: r.get(1),
                condition: r.get(2),
                after_minutes: r.get(3),
                sink_id: r.get(4),
                sink_name: r.get(5),
                action: r.get(6),
                items: items.as_array().cloned().unwrap_or_default(),
            };
            let ids: Vec<i64> = r.get(7);
            insert_delivery(&tx, &group, &build(&group)).await?;
            tx.execute("DELETE FROM notify_queue WHERE id = ANY($1)", &[&ids])
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }
}

async fn insert_delivery(tx: &Transaction<'_>, g: &Group, summary: &str) -> Result<()> {
    let message = serde_json::json!({ "items": g.items, "afterMinutes": g.after_minutes });
    tx.execute(
        "INSERT INTO notify_deliveries (key, rule_id, rule_name, sink_id, sink_name, action, \
         condition, summary, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &Uuid::new_v4(),
            &g.rule_id,
            &g.rule_name,
            &g.sink_id,
            &g.sink_name,
            &g.action,
            &g.condition,
            &summary,
            &message,
        ],
    )
    .await?;
    Ok(())
}
