//! Reading history: the change log (`resource_changes`, newest first by seq) and the
//! controllers' events (`flux_events`, newest first by last occurrence).

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::cursor::{Cursor, CursorError, KeyType, KeyValue};
use super::list::{Page, resolve_clusters};
use super::sql::{Params, any_of, cluster_condition, one_of, where_clause};
use crate::store::{Result, Store};

/// Change-log entries to select; every non-empty field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    /// Resource ids.
    pub resources: Vec<Uuid>,
    /// Cluster ids or names.
    pub clusters: Vec<String>,
    /// Kinds.
    pub kinds: Vec<String>,
    /// Namespaces.
    pub namespaces: Vec<String>,
    /// Operations: `upsert`, `delete`, `event`.
    pub ops: Vec<String>,
    /// Only seq greater than this.
    pub since: Option<i64>,
    /// Only seq less than this.
    pub before: Option<i64>,
}

/// One change-log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEntry {
    /// Position in the log (commit order).
    pub seq: i64,
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// Cluster.
    pub cluster_id: Uuid,
    /// Cluster name; `None` once the cluster is deleted.
    pub cluster_name: Option<String>,
    /// Resource id.
    pub resource_id: Uuid,
    /// API group.
    pub api_group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `upsert`, `delete` or `event`.
    pub op: String,
    /// Health before (`None` for a new object or an event).
    pub health_before: Option<String>,
    /// Health after; for `event` the event type (`Normal`/`Warning`).
    pub health_after: Option<String>,
    /// Revision.
    pub revision: Option<String>,
    /// Reason.
    pub reason: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Content hash of the object version an upsert produced (see `store::versions`); `None`
    /// for deletes, events and changes logged before versions were kept.
    pub version: Option<Vec<u8>>,
    /// What changed from the version before (`flux::change_summary`); `None` for a first
    /// sight, deletes, events and changes logged before summaries were kept.
    pub summary: Option<String>,
}

impl ChangeEntry {
    fn from_row(r: &Row) -> ChangeEntry {
        ChangeEntry {
            seq: r.get(0),
            at: r.get(1),
            cluster_id: r.get(2),
            cluster_name: r.get(3),
            resource_id: r.get(4),
            api_group: r.get(5),
            kind: r.get(6),
            namespace: r.get(7),
            name: r.get(8),
            op: r.get(9),
            health_before: r.get(10),
            health_after: r.get(11),
            revision: r.get(12),
            reason: r.get(13),
            message: r.get(14),
            version: r.get(15),
            summary: r.get(16),
        }
    }
}

const CHANGE_SORT: &str = "-seq";
const CHANGE_KEYS: [KeyType; 1] = [KeyType::Int];

/// Read a `continue` token of the change log.
pub fn decode_change_cursor(token: &str) -> Result<Cursor, CursorError> {
    Cursor::decode(token, CHANGE_SORT, &CHANGE_KEYS)
}

/// The statement for one page of the change log.
pub fn changes_statement(
    filter: &ChangeFilter,
    clusters: &[Uuid],
    after: Option<&Cursor>,
    limit: i64,
) -> (String, Params) {
    let mut p = Params::default();
    let mut w = Vec::new();
    if !filter.resources.is_empty() {
        w.push(one_of("h.resource_id", &filter.resources, "uuid", &mut p));
    }
    if !filter.clusters.is_empty() {
        w.push(cluster_condition("h.cluster_id", clusters, &mut p));
    }
    any_of("h.kind", &filter.kinds, &mut p, &mut w);
    any_of("h.namespace", &filter.namespaces, &mut p, &mut w);
    any_of("h.op", &filter.ops, &mut p, &mut w);
    let after_seq = after.and_then(|c| match c.keys.first() {
        Some(KeyValue::Int(seq)) => Some(*seq),
        _ => None,
    });
    let bounds = [(filter.since, ">"), (filter.before, "<"), (after_seq, "<")];
    for (seq, op) in bounds.into_iter().filter_map(|(s, op)| Some((s?, op))) {
        w.push(format!("h.seq {op} {}::bigint", p.bind(seq)));
    }
    let sql = format!(
        "SELECT h.seq, h.at, h.cluster_id, c.name, h.resource_id, h.api_group, h.kind, h.namespace, h.name, h.op, \
         h.health_before, h.health_after, h.revision, h.reason, h.message, h.content_hash, h.summary \
         FROM resource_changes h LEFT JOIN clusters c ON c.id = h.cluster_id {} ORDER BY h.seq DESC LIMIT {}",
        where_clause(&w),
        p.bind(limit)
    );
    (sql, p)
}

/// Controller events to select; every non-empty field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Resource ids.
    pub resources: Vec<Uuid>,
    /// Cluster ids or names.
    pub clusters: Vec<String>,
    /// Kinds of the involved object.
    pub kinds: Vec<String>,
    /// Namespaces of the involved object.
    pub namespaces: Vec<String>,
    /// Names of the involved object.
    pub names: Vec<String>,
    /// `Normal`, `Warning`.
    pub types: Vec<String>,
    /// Only events last seen at or after this time.
    pub since: Option<DateTime<Utc>>,
}

/// One stored controller event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// Row id.
    pub id: i64,
    /// Cluster.
    pub cluster_id: Uuid,
    /// Cluster name.
    pub cluster_name: String,
    /// Resource id of the involved object.
    pub resource_id: Uuid,
    /// API group of the involved object.
    pub api_group: String,
    /// Kind of the involved object.
    pub kind: String,
    /// Namespace of the involved object.
    pub namespace: String,
    /// Name of the involved object.
    pub name: String,
    /// `Normal` or `Warning`.
    pub event_type: String,
    /// Reason.
    pub reason: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Occurrences.
    pub count: i64,
    /// First occurrence.
    pub first_seen: Option<DateTime<Utc>>,
    /// Latest occurrence.
    pub last_seen: Option<DateTime<Utc>>,
    /// Reporting controller.
    pub reporting_controller: Option<String>,
    /// Revision the controller attached.
    pub revision: Option<String>,
}

impl EventRow {
    fn from_row(r: &Row) -> EventRow {
        EventRow {
            id: r.get(0),
            cluster_id: r.get(1),
            cluster_name: r.get(2),
            resource_id: r.get(3),
            api_group: r.get(4),
            kind: r.get(5),
            namespace: r.get(6),
            name: r.get(7),
            event_type: r.get(8),
            reason: r.get(9),
            message: r.get(10),
            count: r.get(11),
            first_seen: r.get(12),
            last_seen: r.get(13),
            reporting_controller: r.get(14),
            revision: r.get(15),
        }
    }

    fn cursor(&self) -> Cursor {
        Cursor {
            sort: EVENT_SORT.into(),
            keys: vec![KeyValue::Time(self.last_seen), KeyValue::Int(self.id)],
        }
    }
}

const EVENT_SORT: &str = "-lastSeen";
const EVENT_KEYS: [KeyType; 2] = [KeyType::Time, KeyType::Int];

/// Read a `continue` token of an event list.
pub fn decode_event_cursor(token: &str) -> Result<Cursor, CursorError> {
    Cursor::decode(token, EVENT_SORT, &EVENT_KEYS)
}

/// Events are ordered `last_seen DESC, id DESC`, which puts NULL times first (the order the
/// `last_seen` indexes have); the ingest fills `last_seen` from the first occurrence or creation
/// time, so NULL only appears for events without any timestamp.
fn event_keyset(cursor: &Cursor, p: &mut Params) -> Option<String> {
    match cursor.keys.as_slice() {
        [KeyValue::Time(Some(t)), KeyValue::Int(id)] => Some(format!(
            "(e.last_seen, e.id) < ({}::timestamptz, {}::bigint)",
            p.bind(*t),
            p.bind(*id)
        )),
        [KeyValue::Time(None), KeyValue::Int(id)] => Some(format!(
            "(e.last_seen IS NOT NULL OR e.id < {}::bigint)",
            p.bind(*id)
        )),
        _ => None,
    }
}

/// The statement for one page of events.
pub fn events_statement(
    filter: &EventFilter,
    clusters: &[Uuid],
    after: Option<&Cursor>,
    limit: i64,
) -> (String, Params) {
    let mut p = Params::default();
    let mut w = Vec::new();
    if !filter.resources.is_empty() {
        w.push(one_of("e.resource_id", &filter.resources, "uuid", &mut p));
    }
    if !filter.clusters.is_empty() {
        w.push(cluster_condition("e.cluster_id", clusters, &mut p));
    }
    any_of("e.kind", &filter.kinds, &mut p, &mut w);
    any_of("e.namespace", &filter.namespaces, &mut p, &mut w);
    any_of("e.name", &filter.names, &mut p, &mut w);
    any_of("e.type", &filter.types, &mut p, &mut w);
    if let Some(since) = filter.since {
        w.push(format!("e.last_seen >= {}::timestamptz", p.bind(since)));
    }
    w.extend(after.and_then(|c| event_keyset(c, &mut p)));
    let sql = format!(
        "SELECT e.id, e.cluster_id, c.name, e.resource_id, e.api_group, e.kind, e.namespace, e.name, e.type, \
         e.reason, e.message, e.count, e.first_seen, e.last_seen, e.reporting_controller, e.revision \
         FROM flux_events e JOIN clusters c ON c.id = e.cluster_id {} ORDER BY e.last_seen DESC, e.id DESC LIMIT {}",
        where_clause(&w),
        p.bind(limit)
    );
    (sql, p)
}

impl Store {
    /// Up to `limit` change-log entries matching `filter`, newest first, after `after`.
    pub async fn list_changes(
        &self,
        filter: &ChangeFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<ChangeEntry>> {
        let conn = self.api_conn().await?;
        let clusters = resolve_clusters(&conn, &filter.clusters).await?;
        let (sql, params) = changes_statement(filter, &clusters, after, limit as i64 + 1);
        let rows: Vec<ChangeEntry> = conn
            .query(&sql, &params.refs())
            .await?
            .iter()
            .map(ChangeEntry::from_row)
            .collect();
        let cursor = |c: &ChangeEntry| Cursor {
            sort: CHANGE_SORT.into(),
            keys: vec![KeyValue::Int(c.seq)],
        };
        Ok(Page::from_rows(rows, limit, cursor))
    }

    /// Up to `limit` events matching `filter`, newest first, after `after`.
    pub async fn list_events(
        &self,
        filter: &EventFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<EventRow>> {
        let conn = self.api_conn().await?;
        let clusters = resolve_clusters(&conn, &filter.clusters).await?;
        let (sql, params) = events_statement(filter, &clusters, after, limit as i64 + 1);
        let rows: Vec<EventRow> = conn
            .query(&sql, &params.refs())
            .await?
            .iter()
            .map(EventRow::from_row)
            .collect();
        Ok(Page::from_rows(rows, limit, EventRow::cursor))
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
