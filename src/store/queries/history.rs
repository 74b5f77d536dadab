//! Reading history: the change log (`resource_changes`, newest first by seq) and the
//! controllers' events (`flux_events`, newest first by last occurrence).
//!
//! Both are [`History`] lists: the objects they are about ([`Subjects`]), a few conditions of
//! their own, keyset pages newest first. [`Store::history`] reads a page of either.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::cursor::{Cursor, CursorError, KeyType, KeyValue};
use super::list::{Page, resolve_clusters};
use super::sql::{Params, any_of, cluster_condition, one_of, where_clause};
use crate::flux::{ChangeOp, EventType, FluxEvent, InvolvedObject};
use crate::store::types::column;
use crate::store::{CHANGE_COLUMNS, ChangeEntry, Result, Store};

/// Which objects' history to read; every non-empty field must match (values within a field
/// are OR-ed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subjects {
    /// Resource ids.
    pub resources: Vec<Uuid>,
    /// Cluster ids or names.
    pub clusters: Vec<String>,
    /// Kinds, as the catalogue spells them.
    pub kinds: Vec<String>,
    /// Namespaces.
    pub namespaces: Vec<String>,
    /// Names.
    pub names: Vec<String>,
}

impl Subjects {
    /// The history of one object.
    pub fn resource(id: Uuid) -> Subjects {
        Subjects {
            resources: vec![id],
            ..Subjects::default()
        }
    }

    /// The conditions on table alias `t`; `clusters` are the ids `self.clusters` resolved to.
    pub(super) fn conditions(&self, t: &str, clusters: &[Uuid], p: &mut Params) -> Vec<String> {
        let mut w = Vec::new();
        if !self.resources.is_empty() {
            w.push(one_of(
                &format!("{t}.resource_id"),
                &self.resources,
                "uuid",
                p,
            ));
        }
        if !self.clusters.is_empty() {
            w.push(cluster_condition(&format!("{t}.cluster_id"), clusters, p));
        }
        any_of(&format!("{t}.kind"), &self.kinds, p, &mut w);
        any_of(&format!("{t}.namespace"), &self.namespaces, p, &mut w);
        any_of(&format!("{t}.name"), &self.names, p, &mut w);
        w
    }
}

/// A history list: what it selects from where, in which order, and its own filter.
pub trait History {
    /// One entry of the list.
    type Entry: Send;
    /// Alias of the table in [`History::FROM`].
    const ALIAS: &'static str;
    /// The select list.
    const SELECT: &'static str;
    /// The table (aliased) and its joins.
    const FROM: &'static str;
    /// The `ORDER BY` list, newest first.
    const ORDER: &'static str;
    /// The sort a `continue` token of this list names, and its key types.
    const SORT: &'static str;
    /// The key types of a `continue` token.
    const KEYS: &'static [KeyType];

    /// The objects whose history is read.
    fn subjects(&self) -> &Subjects;
    /// The list's own conditions, then the keyset condition after `after`.
    fn conditions(&self, after: Option<&Cursor>, p: &mut Params, w: &mut Vec<String>);
    /// Map a selected row.
    fn entry(row: &Row) -> Result<Self::Entry>;
    /// The cursor that continues after `entry`.
    fn cursor(entry: &Self::Entry) -> Cursor;

    /// Read a `continue` token of this list.
    fn decode_cursor(token: &str) -> Result<Cursor, CursorError> {
        Cursor::decode(token, Self::SORT, Self::KEYS)
    }
}

/// The statement for one page of `filter` after `after`, fetching `limit` rows; `clusters`
/// are the ids its subjects' clusters resolved to.
pub fn history_statement<H: History>(
    filter: &H,
    clusters: &[Uuid],
    after: Option<&Cursor>,
    limit: i64,
) -> (String, Params) {
    let mut p = Params::default();
    let mut w = filter.subjects().conditions(H::ALIAS, clusters, &mut p);
    filter.conditions(after, &mut p, &mut w);
    let sql = format!(
        "SELECT {} FROM {} {} ORDER BY {} LIMIT {}",
        H::SELECT,
        H::FROM,
        where_clause(&w),
        H::ORDER,
        p.bind(limit)
    );
    (sql, p)
}

/// Change-log entries to select; every non-empty field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    /// The objects.
    pub subjects: Subjects,
    /// Operations.
    pub ops: Vec<ChangeOp>,
    /// Only seq greater than this.
    pub since: Option<i64>,
    /// Only seq less than this.
    pub before: Option<i64>,
}

impl History for ChangeFilter {
    type Entry = ChangeEntry;
    const ALIAS: &'static str = "h";
    const SELECT: &'static str = CHANGE_COLUMNS;
    const FROM: &'static str = "resource_changes h LEFT JOIN clusters c ON c.id = h.cluster_id";
    const ORDER: &'static str = "h.seq DESC";
    const SORT: &'static str = "-seq";
    const KEYS: &'static [KeyType] = &[KeyType::Int];

    fn subjects(&self) -> &Subjects {
        &self.subjects
    }

    fn conditions(&self, after: Option<&Cursor>, p: &mut Params, w: &mut Vec<String>) {
        any_of("h.op", &self.ops, p, w);
        let after_seq = after.and_then(|c| match c.keys.first() {
            Some(KeyValue::Int(seq)) => Some(*seq),
            _ => None,
        });
        let bounds = [(self.since, ">"), (self.before, "<"), (after_seq, "<")];
        for (seq, op) in bounds.into_iter().filter_map(|(s, op)| Some((s?, op))) {
            w.push(format!("h.seq {op} {}::bigint", p.bind(seq)));
        }
    }

    fn entry(row: &Row) -> Result<ChangeEntry> {
        ChangeEntry::from_row_at(row, 0)
    }

    fn cursor(entry: &ChangeEntry) -> Cursor {
        Cursor {
            sort: Self::SORT.into(),
            keys: vec![KeyValue::Int(entry.seq)],
        }
    }
}

/// Controller events to select; every non-empty field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// The objects the events are about.
    pub subjects: Subjects,
    /// Event types.
    pub types: Vec<EventType>,
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
    /// The event as the ingest normalised it (the involved object's uid is not stored).
    pub event: FluxEvent,
}

impl History for EventFilter {
    type Entry = EventRow;
    const ALIAS: &'static str = "e";
    const SELECT: &'static str = "e.id, e.cluster_id, c.name, e.resource_id, e.api_group, e.kind, e.namespace, \
         e.name, e.type, e.reason, e.message, e.count, e.first_seen, e.last_seen, e.reporting_controller, \
         e.revision, e.uid";
    const FROM: &'static str = "flux_events e JOIN clusters c ON c.id = e.cluster_id";
    const ORDER: &'static str = "e.last_seen DESC, e.id DESC";
    const SORT: &'static str = "-lastSeen";
    const KEYS: &'static [KeyType] = &[KeyType::Time, KeyType::Int];

    fn subjects(&self) -> &Subjects {
        &self.subjects
    }

    fn conditions(&self, after: Option<&Cursor>, p: &mut Params, w: &mut Vec<String>) {
        any_of("e.type", &self.types, p, w);
        if let Some(since) = self.since {
            w.push(format!("e.last_seen >= {}::timestamptz", p.bind(since)));
        }
        w.extend(after.and_then(|c| event_keyset(c, p)));
    }

    fn entry(r: &Row) -> Result<EventRow> {
        let involved = InvolvedObject {
            api_group: r.get(4),
            kind: r.get(5),
            namespace: r.get(6),
            name: r.get(7),
            uid: None,
        };
        let event = FluxEvent {
            uid: r.get(16),
            involved,
            event_type: column(r, 8)?,
            reason: r.get(9),
            message: r.get(10),
            count: r.get(11),
            first_seen: r.get(12),
            last_seen: r.get(13),
            reporting_controller: r.get(14),
            revision: r.get(15),
        };
        Ok(EventRow {
            id: r.get(0),
            cluster_id: r.get(1),
            cluster_name: r.get(2),
            resource_id: r.get(3),
            event,
        })
    }

    fn cursor(row: &EventRow) -> Cursor {
        Cursor {
            sort: Self::SORT.into(),
            keys: vec![KeyValue::Time(row.event.last_seen), KeyValue::Int(row.id)],
        }
    }
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

impl Store {
    /// Up to `limit` entries of the history list `filter`, newest first, after `after`.
    pub async fn history<H: History + Sync>(
        &self,
        filter: &H,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<H::Entry>> {
        let conn = self.read_conn().await?;
        let clusters = resolve_clusters(&conn, &filter.subjects().clusters).await?;
        let (sql, params) = history_statement(filter, &clusters, after, limit as i64 + 1);
        let rows = conn
            .query(&sql, &params.refs())
            .await?
            .iter()
            .map(H::entry)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(rows, limit, H::cursor))
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
