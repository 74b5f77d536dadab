//! The fleet timeline: the change log (changes and the controllers' events, which the writer
//! logs as `event` entries) in time order, newest first, filtered and keyset-paged both ways.
//!
//! A page is ordered by `(at, seq)` — commit time, then commit order for entries of one
//! transaction — and served by the `(at, seq)` index (migration 0012): the keyset condition
//! and the time range bound one index walk, which stops after one page.
//!
//! `at` is the writing transaction's start time, so an entry can commit a few milliseconds
//! after a later-stamped one: a page fetched in that moment misses it and the next newer page
//! starts after it. The live stream, which goes by seq, still delivers it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::cursor::{Cursor, CursorError, KeyType, KeyValue};
use super::history::Subjects;
use super::list::resolve_clusters;
use super::sql::{Params, any_of, contains_pattern, one_of, where_clause};
use crate::flux::{ChangeOp, Health};
use crate::store::{CHANGE_COLUMNS, ChangeEntry, Result, Store};

/// A position in the timeline: an entry's commit time and seq.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// `resource_changes.at`.
    pub at: DateTime<Utc>,
    /// `resource_changes.seq`.
    pub seq: i64,
}

impl Position {
    /// The position of `entry`.
    pub fn of(entry: &ChangeEntry) -> Position {
        Position {
            at: entry.at,
            seq: entry.seq,
        }
    }
}

/// A kind of transition: what the entries of one burst have in common.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// A stored object's health changed to this.
    Became(Health),
    /// An object was seen for the first time.
    Appeared,
    /// An object was deleted.
    Deleted,
}

impl Transition {
    /// The transition `entry` is, if any (events and upserts that keep the health are none).
    pub fn of(entry: &ChangeEntry) -> Option<Transition> {
        match (entry.op, entry.health_before, entry.health_after) {
            (ChangeOp::Upsert, None, Some(_)) => Some(Transition::Appeared),
            (ChangeOp::Upsert, Some(b), Some(a)) if a != b => Some(Transition::Became(a)),
            (ChangeOp::Delete, ..) => Some(Transition::Deleted),
            _ => None,
        }
    }

    /// The text form: `became:failed`, `appeared`, `deleted`.
    pub fn as_string(&self) -> String {
        match self {
            Transition::Became(h) => format!("became:{h}"),
            Transition::Appeared => "appeared".into(),
            Transition::Deleted => "deleted".into(),
        }
    }

    /// Parse [`Transition::as_string`]'s form.
    pub fn parse(text: &str) -> Option<Transition> {
        match text {
            "appeared" => Some(Transition::Appeared),
            "deleted" => Some(Transition::Deleted),
            _ => text
                .strip_prefix("became:")
                .and_then(|h| h.parse().ok())
                .map(Transition::Became),
        }
    }

    /// Exactly the entries [`Transition::of`] maps to `self`, as SQL on `h`.
    fn condition(&self, p: &mut Params) -> String {
        match self {
            Transition::Became(h) => format!(
                "h.op = 'upsert' AND h.health_before IS NOT NULL AND h.health_after = {}::text \
                 AND h.health_before <> h.health_after",
                p.bind(*h)
            ),
            Transition::Appeared => "h.op = 'upsert' AND h.health_before IS NULL".into(),
            Transition::Deleted => "h.op = 'delete'".into(),
        }
    }
}

/// Which way a page goes from its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Entries before the cursor (the next page down the timeline).
    Older,
    /// Entries after the cursor (towards now).
    Newer,
}

impl Direction {
    fn sort(self) -> &'static str {
        match self {
            Direction::Older => "timeline-older",
            Direction::Newer => "timeline-newer",
        }
    }
}

/// Where a timeline page starts: a position and the direction to read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineCursor {
    /// Read this way…
    pub direction: Direction,
    /// …from here (exclusive).
    pub from: Position,
}

const KEYS: &[KeyType] = &[KeyType::Time, KeyType::Int];

impl TimelineCursor {
    /// The opaque token.
    pub fn encode(&self) -> String {
        Cursor {
            sort: self.direction.sort().into(),
            keys: vec![
                KeyValue::Time(Some(self.from.at)),
                KeyValue::Int(self.from.seq),
            ],
        }
        .encode()
    }

    /// Read a token made by [`TimelineCursor::encode`], of either direction.
    pub fn decode(token: &str) -> Result<TimelineCursor, CursorError> {
        let older = Cursor::decode(token, Direction::Older.sort(), KEYS);
        let (direction, cursor) = match older {
            Ok(c) => (Direction::Older, c),
            Err(CursorError::WrongSort { .. }) => (
                Direction::Newer,
                Cursor::decode(token, Direction::Newer.sort(), KEYS)?,
            ),
            Err(e) => return Err(e),
        };
        match cursor.keys.as_slice() {
            [KeyValue::Time(Some(at)), KeyValue::Int(seq)] => Ok(TimelineCursor {
                direction,
                from: Position { at: *at, seq: *seq },
            }),
            _ => Err(CursorError::Malformed),
        }
    }
}

/// Timeline entries to select; every given condition must hold (values within one OR-ed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineFilter {
    /// Clusters (ids or names), kinds, namespaces.
    pub subjects: Subjects,
    /// Only these clusters (a cluster-label selector, resolved by the caller); `None`: any.
    pub cluster_ids: Option<Vec<Uuid>>,
    /// Only health transitions to one of these (upserts whose health changed).
    pub becomes: Vec<Health>,
    /// Only health transitions from one of these (upserts and deletes whose health changed).
    pub was: Vec<Health>,
    /// Only these operations.
    pub ops: Vec<ChangeOp>,
    /// Case-insensitive substring of the name, message, reason or revision.
    pub text: Option<String>,
    /// Entries at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only entries between these positions, both included (one burst's members).
    pub between: Option<(Position, Position)>,
    /// Only entries of this transition (one burst's members).
    pub transition: Option<Transition>,
}

/// `(h.at, h.seq) <op> (…)`.
fn compare(op: &str, pos: Position, p: &mut Params) -> String {
    format!(
        "(h.at, h.seq) {op} ({}::timestamptz, {}::bigint)",
        p.bind(pos.at),
        p.bind(pos.seq)
    )
}

impl TimelineFilter {
    fn transition_conditions(&self, p: &mut Params, w: &mut Vec<String>) {
        let changed = "h.health_before IS DISTINCT FROM h.health_after";
        if !self.becomes.is_empty() {
            let to = one_of("h.health_after", &self.becomes, "text", p);
            w.push(format!("h.op = 'upsert' AND {to} AND {changed}"));
        }
        if !self.was.is_empty() {
            let from = one_of("h.health_before", &self.was, "text", p);
            w.push(format!(
                "h.op IN ('upsert', 'delete') AND {from} AND {changed}"
            ));
        }
    }

    /// The conditions, with `h` aliasing `resource_changes`; `clusters` are the ids the
    /// subjects' clusters resolved to.
    fn conditions(&self, clusters: &[Uuid], p: &mut Params) -> Vec<String> {
        let mut w = self.subjects.conditions("h", clusters, p);
        if let Some(ids) = &self.cluster_ids {
            w.push(one_of("h.cluster_id", ids, "uuid", p));
        }
        any_of("h.op", &self.ops, p, &mut w);
        self.transition_conditions(p, &mut w);
        if let Some(text) = self.text.as_deref().filter(|t| !t.is_empty()) {
            let pat = p.bind(contains_pattern(text));
            w.push(format!(
                "(h.name ILIKE {pat} OR h.message ILIKE {pat} OR h.reason ILIKE {pat} \
                 OR h.revision ILIKE {pat})"
            ));
        }
        if let Some(from) = self.from {
            w.push(format!("h.at >= {}::timestamptz", p.bind(from)));
        }
        if let Some(to) = self.to {
            w.push(format!("h.at < {}::timestamptz", p.bind(to)));
        }
        if let Some((oldest, newest)) = self.between {
            w.push(compare(">=", oldest, p));
            w.push(compare("<=", newest, p));
        }
        if let Some(t) = &self.transition {
            w.push(t.condition(p));
        }
        w
    }
}

/// The statement for one page of `filter` from `cursor` (newest first without one), fetching
/// `limit` rows; rows of a `Newer` page come oldest first.
pub fn timeline_statement(
    filter: &TimelineFilter,
    clusters: &[Uuid],
    cursor: Option<&TimelineCursor>,
    limit: i64,
) -> (String, Params) {
    let mut p = Params::default();
    let mut w = filter.conditions(clusters, &mut p);
    let newer = cursor.is_some_and(|c| c.direction == Direction::Newer);
    if let Some(c) = cursor {
        w.push(compare(if newer { ">" } else { "<" }, c.from, &mut p));
    }
    let dir = if newer { "" } else { " DESC" };
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM resource_changes h LEFT JOIN clusters c ON c.id = h.cluster_id \
         {} ORDER BY h.at{dir}, h.seq{dir} LIMIT {}",
        where_clause(&w),
        p.bind(limit)
    );
    (sql, p)
}

/// One page of the timeline, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRows {
    /// The entries, newest first.
    pub items: Vec<ChangeEntry>,
    /// More entries lie beyond the page in the direction it was read.
    pub more: bool,
}

/// How far back the change log goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retained {
    /// Time of the oldest retained entry (`None`: the log is empty).
    pub oldest: Option<DateTime<Utc>>,
    /// Retention has removed entries (older history existed and is gone).
    pub pruned: bool,
}

impl Store {
    /// Up to `limit` timeline entries of `filter` from `cursor`, newest first.
    pub async fn timeline(
        &self,
        filter: &TimelineFilter,
        cursor: Option<&TimelineCursor>,
        limit: usize,
    ) -> Result<TimelineRows> {
        let conn = self.read_conn().await?;
        let clusters = resolve_clusters(&conn, &filter.subjects.clusters).await?;
        let (sql, params) = timeline_statement(filter, &clusters, cursor, limit as i64 + 1);
        let mut items = conn
            .query(&sql, &params.refs())
            .await?
            .iter()
            .map(|r| ChangeEntry::from_row_at(r, 0))
            .collect::<Result<Vec<_>>>()?;
        let more = items.len() > limit;
        items.truncate(limit);
        if cursor.is_some_and(|c| c.direction == Direction::Newer) {
            items.reverse();
        }
        Ok(TimelineRows { items, more })
    }

    /// The time of the oldest retained change and whether retention has pruned any.
    pub async fn retained(&self, reader: crate::store::reliability::Reader) -> Result<Retained> {
        let conn = self.reader(reader).await?;
        let row = conn
            .query_one(
                "SELECT (SELECT min(at) FROM resource_changes), \
                        (SELECT pruned_through > 0 FROM change_log_floor)",
                &[],
            )
            .await?;
        Ok(Retained {
            oldest: row.get(0),
            pruned: row.get::<_, Option<bool>>(1).unwrap_or(false),
        })
    }
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
