//! `/api/v1/timeline`: what happened across the fleet, newest first — changes and the
//! controllers' events merged by time, filtered, paged both ways, with bursts grouped
//! (`bursts`).

mod bursts;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde_json::json;
use uuid::Uuid;

use super::error::ApiError;
use super::history;
use super::model::{Change, ChangeOp, Health};
use super::params::{self, MAX_LIMIT, bad_param};
use super::{ApiTags, AppState};
use crate::store::queries::{
    Position, TimelineCursor, TimelineFilter, Transition, parse_selectors,
};
use crate::store::reliability::Reader;
use bursts::{Burst, Slot};

/// Most members a burst lists inline; `group` lists them all.
pub const INLINE_MEMBERS: usize = 20;
/// Largest grouping window, in seconds.
pub const MAX_WINDOW_SECS: u32 = 3600;
/// What a date-time parameter must be, for error messages.
const TIME_FORMAT: &str = "an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z";

/// What a timeline entry is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum EntryType {
    /// One change or event (`change`).
    Change,
    /// Several objects' entries of one transition (`burst`).
    Burst,
}

/// The kind of transition a burst groups.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum TransitionKind {
    /// The objects' health changed to `health`.
    Became,
    /// The objects were seen for the first time.
    Appeared,
    /// The objects were deleted.
    Deleted,
}

/// Entries of one transition on several objects within the grouping window.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct TimelineBurst {
    /// What the members have in common.
    pub transition: TransitionKind,
    /// The health they became (for `became`).
    pub health: Option<Health>,
    /// One sentence, e.g. "14 objects on 6 clusters became Failed within 40 s, revision
    /// main@sha1:ab12".
    pub summary: String,
    /// How many entries.
    pub count: u32,
    /// How many distinct objects.
    pub objects: u32,
    /// Their clusters, by name.
    pub clusters: Vec<String>,
    /// Their kinds.
    pub kinds: Vec<String>,
    /// The revisions they name.
    pub revisions: Vec<String>,
    /// Time of the newest member.
    pub newest: DateTime<Utc>,
    /// Time of the oldest member.
    pub oldest: DateTime<Utc>,
    /// The newest members, up to 20, newest first.
    pub members: Vec<Change>,
    /// More members than listed: pass `group` to list them all.
    pub members_truncated: bool,
    /// Pass as `group` (with the same filters) to list every member.
    pub group: String,
}

/// One entry of the timeline.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct TimelineEntry {
    /// A single change or a burst.
    #[oai(rename = "type")]
    pub entry_type: EntryType,
    /// When (a burst: its newest member).
    pub at: DateTime<Utc>,
    /// The change (for `change`).
    pub change: Option<Change>,
    /// The burst (for `burst`).
    pub burst: Option<TimelineBurst>,
}

/// A page of the timeline, newest first.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct TimelinePage {
    /// The entries, newest first.
    pub items: Vec<TimelineEntry>,
    /// Pass as `continue` for the page before this one; null when nothing older matches.
    pub older: Option<String>,
    /// Pass as `continue` for what came after this page (poll it for new entries); null on
    /// an empty first page.
    pub newer: Option<String>,
    /// Time of the oldest retained change; null when the log is empty.
    pub oldest_retained: Option<DateTime<Utc>>,
    /// Retention has removed history this request's range reaches into: the answer is what
    /// exists, starting at `oldestRetained`.
    pub history_pruned: bool,
}

#[derive(ApiResponse)]
enum TimelineResponse {
    /// A page of the timeline.
    #[oai(status = 200)]
    Ok(Json<TimelinePage>),
}

/// The members of one burst: its transition and its oldest and newest positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Group {
    transition: Transition,
    oldest: Position,
    newest: Position,
}

impl Group {
    fn encode(&self) -> String {
        let pos = |p: Position| json!([p.at.to_rfc3339(), p.seq]);
        let value =
            json!({"t": self.transition.as_string(), "o": pos(self.oldest), "n": pos(self.newest)});
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn decode(token: &str) -> Option<Group> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let pos = |v: &serde_json::Value| -> Option<Position> {
            Some(Position {
                at: DateTime::parse_from_rfc3339(v.get(0)?.as_str()?)
                    .ok()?
                    .with_timezone(&Utc),
                seq: v.get(1)?.as_i64()?,
            })
        };
        Some(Group {
            transition: Transition::parse(value.get("t")?.as_str()?)?,
            oldest: pos(value.get("o")?)?,
            newest: pos(value.get("n")?)?,
        })
    }
}

fn burst(b: Burst) -> TimelineBurst {
    let (transition, health) = match b.transition {
        Transition::Became(h) => (TransitionKind::Became, Some(h.into())),
        Transition::Appeared => (TransitionKind::Appeared, None),
        Transition::Deleted => (TransitionKind::Deleted, None),
    };
    let group = Group {
        transition: b.transition,
        oldest: b.oldest(),
        newest: b.newest(),
    };
    TimelineBurst {
        transition,
        health,
        summary: b.summary(),
        count: b.members.len() as u32,
        objects: b.objects() as u32,
        clusters: b.clusters(),
        kinds: b.kinds(),
        revisions: b.revisions(),
        newest: group.newest.at,
        oldest: group.oldest.at,
        members_truncated: b.members.len() > INLINE_MEMBERS,
        members: b
            .members
            .into_iter()
            .take(INLINE_MEMBERS)
            .map(Change::from)
            .collect(),
        group: group.encode(),
    }
}

fn entry(slot: Slot) -> TimelineEntry {
    match slot {
        Slot::One(e) => TimelineEntry {
            entry_type: EntryType::Change,
            at: e.at,
            change: Some((*e).into()),
            burst: None,
        },
        Slot::Burst(b) => TimelineEntry {
            entry_type: EntryType::Burst,
            at: b.newest().at,
            change: None,
            burst: Some(burst(b)),
        },
    }
}

/// The clusters whose labels match the selectors of parameter `param` (`clusterLabel` here);
/// `None` without any.
pub(super) async fn labelled_clusters(
    state: &AppState,
    param: &str,
    selectors: &[String],
) -> Result<Option<Vec<Uuid>>, ApiError> {
    let texts: Vec<&str> = selectors
        .iter()
        .map(String::as_str)
        .filter(|s| !s.trim().is_empty())
        .collect();
    if texts.is_empty() {
        return Ok(None);
    }
    let reqs = parse_selectors(&texts).map_err(|e| {
        ApiError::bad_request(
            "invalid_selector",
            format!("failed to parse parameter `{param}`: {e}"),
        )
    })?;
    let ids: Vec<Uuid> = state
        .registry
        .list()
        .await?
        .into_iter()
        .filter(|c| {
            let get = |k: &str| c.labels.get(k).and_then(|v| v.as_str());
            reqs.iter().all(|r| r.matches(get))
        })
        .map(|c| c.id)
        .collect();
    // No matching cluster selects nothing (nil is no cluster's id).
    Ok(Some(if ids.is_empty() {
        vec![Uuid::nil()]
    } else {
        ids
    }))
}

/// 400 when `from` is after `to` (an inverted range; equal ends are one instant).
fn time_range(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(bad_param(
            "from",
            format!(
                "must not be after `to` ({} is after {}); both are {TIME_FORMAT}",
                f.to_rfc3339(),
                t.to_rfc3339()
            ),
        )),
        _ => Ok(()),
    }
}

/// The page's cursors: `older` from its oldest entry when more lie beyond it (or when it was
/// read towards now: the cursor's side), `newer` from its newest entry.
fn cursors(
    rows: &crate::store::queries::TimelineRows,
    cursor: Option<&TimelineCursor>,
) -> (Option<String>, Option<String>) {
    use crate::store::queries::Direction::{Newer, Older};
    let newer_read = cursor.is_some_and(|c| c.direction == Newer);
    let make = |direction, e: Option<&crate::store::ChangeEntry>| {
        e.map(|e| {
            TimelineCursor {
                direction,
                from: Position::of(e),
            }
            .encode()
        })
    };
    let older = if rows.more || newer_read {
        make(Older, rows.items.last())
    } else {
        None
    };
    let newer = make(Newer, rows.items.first()).or_else(|| match cursor {
        Some(c) if newer_read => Some(c.encode()),
        _ => None,
    });
    (older, newer)
}

/// The timeline endpoint.
pub struct TimelineApi;

#[OpenApi(prefix_path = "/api/v1/timeline", tag = "ApiTags::Timeline")]
impl TimelineApi {
    /// Fleet timeline
    ///
    /// Changes and controller events across the fleet, newest first (by commit time). Filters
    /// combine with AND, repeated values of one filter with OR. Entries of one transition
    /// (became failed, appeared, deleted) on several objects within `window` seconds are one
    /// `burst` entry, formed within the page.
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    #[oai(path = "/", method = "get", operation_id = "listTimeline")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        /// Entries at or after this time (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Entries before this time (RFC 3339); after `from`.
        to: Query<Option<DateTime<Utc>>>,
        /// Cluster id or name (repeatable, up to 100).
        #[oai(default)]
        cluster: Query<Vec<String>>,
        /// Cluster-label selector, kubectl's `-l` syntax on cluster labels (repeatable; AND).
        #[oai(default, name = "clusterLabel")]
        cluster_label: Query<Vec<String>>,
        /// Kind, plural or short name (repeatable, up to 100).
        #[oai(default)]
        kind: Query<Vec<String>>,
        /// Namespace (repeatable, up to 100).
        #[oai(default)]
        namespace: Query<Vec<String>>,
        /// Only health transitions to this health, first sights included (repeatable).
        #[oai(default)]
        becomes: Query<Vec<Health>>,
        /// Only health transitions from this health, deletions included (repeatable).
        #[oai(default)]
        was: Query<Vec<Health>>,
        /// Operation (repeatable).
        #[oai(default)]
        op: Query<Vec<ChangeOp>>,
        /// Case-insensitive substring of the name, message, reason or revision.
        q: Query<Option<String>>,
        /// Grouping window in seconds, 0–3600 (default 60); 0 groups the same instant only.
        #[oai(validator(maximum(value = "3600")))]
        window: Query<Option<u32>>,
        /// A burst's `group`: list its members (ungrouped), with the same filters.
        group: Query<Option<String>>,
        /// Page size in entries read, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// The `older` or `newer` value of a page.
        #[oai(name = "continue")]
        continue_: Query<Option<String>>,
    ) -> Result<TimelineResponse, ApiError> {
        let request = Request {
            from: from.0,
            to: to.0,
            cluster: cluster.0,
            cluster_label: cluster_label.0,
            kind: kind.0,
            namespace: namespace.0,
            becomes: becomes.0,
            was: was.0,
            op: op.0,
            q: q.0,
            group: group.0,
        };
        let filter = request.filter(&state).await?;
        let (cursor, window) = paging(continue_.0, window.0, &filter)?;
        let page = read(&state, &filter, cursor.as_ref(), window, limit.0).await?;
        Ok(TimelineResponse::Ok(Json(page)))
    }
}

/// The decoded `continue` token, and the grouping window (none for a burst's members, which
/// are listed as they are).
fn paging(
    token: Option<String>,
    window: Option<u32>,
    filter: &TimelineFilter,
) -> Result<(Option<TimelineCursor>, Option<Duration>), ApiError> {
    let cursor = token
        .filter(|t| !t.is_empty())
        .map(|t| TimelineCursor::decode(&t).map_err(|e| bad_param("continue", e)))
        .transpose()?;
    let window = match filter.between {
        Some(_) => None,
        None => Some(Duration::from_secs(window.unwrap_or(60).into())),
    };
    Ok((cursor, window))
}

/// The filter parameters of a timeline request.
struct Request {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    cluster: Vec<String>,
    cluster_label: Vec<String>,
    kind: Vec<String>,
    namespace: Vec<String>,
    becomes: Vec<Health>,
    was: Vec<Health>,
    op: Vec<ChangeOp>,
    q: Option<String>,
    group: Option<String>,
}

impl Request {
    /// The store's filter; 400 for what cannot be used.
    async fn filter(self, state: &AppState) -> Result<TimelineFilter, ApiError> {
        params::at_most(&[
            ("cluster", self.cluster.len()),
            ("kind", self.kind.len()),
            ("namespace", self.namespace.len()),
            ("becomes", self.becomes.len()),
            ("was", self.was.len()),
        ])?;
        time_range(self.from, self.to)?;
        let group = self.group.filter(|g| !g.is_empty());
        let group = group
            .map(|g| {
                Group::decode(&g).ok_or_else(|| bad_param("group", "not a burst's `group` value"))
            })
            .transpose()?;
        Ok(TimelineFilter {
            subjects: history::subjects(vec![], self.cluster, &self.kind, self.namespace, vec![])?,
            cluster_ids: labelled_clusters(state, "clusterLabel", &self.cluster_label).await?,
            becomes: self.becomes.into_iter().map(Into::into).collect(),
            was: self.was.into_iter().map(Into::into).collect(),
            ops: self.op.into_iter().map(Into::into).collect(),
            text: self.q.filter(|q| !q.is_empty()),
            from: self.from,
            to: self.to,
            between: group.map(|g| (g.oldest, g.newest)),
            transition: group.map(|g| g.transition),
        })
    }
}

/// One page of `filter` from `cursor`, grouped with `window` (none: not grouped).
async fn read(
    state: &AppState,
    filter: &TimelineFilter,
    cursor: Option<&TimelineCursor>,
    window: Option<Duration>,
    limit: Option<u32>,
) -> Result<TimelinePage, ApiError> {
    let limit = params::page_size(limit);
    let (rows, retained) = futures::try_join!(
        state.store.timeline(filter, cursor, limit),
        state.store.retained(Reader::Api)
    )?;
    let (older, newer) = cursors(&rows, cursor);
    let slots = match window {
        Some(w) => bursts::group(rows.items, w),
        None => rows
            .items
            .into_iter()
            .map(|e| Slot::One(Box::new(e)))
            .collect(),
    };
    let reaches_back = match (filter.from, retained.oldest) {
        (Some(from), Some(oldest)) => from < oldest,
        _ => true,
    };
    Ok(TimelinePage {
        items: slots.into_iter().map(entry).collect(),
        older,
        newer,
        oldest_retained: retained.oldest,
        history_pruned: retained.pruned && reaches_back,
    })
}

const _: () = assert!(MAX_LIMIT == 1000, "the limit validators above say 1000");
const _: () = assert!(
    MAX_WINDOW_SECS == 3600,
    "the window validator above says 3600"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux;

    #[test]
    fn a_group_token_round_trips_and_garbage_is_refused() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let g = Group {
            transition: Transition::Became(flux::Health::Failed),
            oldest: Position {
                at: at("2024-05-01T10:00:00.5Z"),
                seq: 3,
            },
            newest: Position {
                at: at("2024-05-01T10:00:40Z"),
                seq: 30,
            },
        };
        assert_eq!(Group::decode(&g.encode()), Some(g));
        assert_eq!(Group::decode("nope"), None);
        assert_eq!(
            Group::decode(&URL_SAFE_NO_PAD.encode("{\"t\":\"became:bad\"}")),
            None
        );
    }

    #[test]
    fn an_inverted_range_names_the_parameter_and_the_format() {
        let t = |s: &str| Some(s.parse::<DateTime<Utc>>().unwrap());
        assert!(time_range(t("2024-05-01T10:00:00Z"), t("2024-05-01T11:00:00Z")).is_ok());
        assert!(time_range(t("2024-05-01T11:00:00Z"), t("2024-05-01T11:00:00Z")).is_ok());
        assert!(time_range(None, t("2024-05-01T11:00:00Z")).is_ok());
        for (from, to) in [
            ("2024-05-01T12:00:00Z", "2024-05-01T11:00:00Z"),
            ("2024-05-01T11:00:00.001Z", "2024-05-01T11:00:00Z"),
        ] {
            let ApiError::BadRequest(body) = time_range(t(from), t(to)).unwrap_err() else {
                panic!("not 400")
            };
            assert_eq!(body.0.code, "invalid_parameter");
            assert!(body.0.message.contains("`from`"), "{}", body.0.message);
            assert!(body.0.message.contains("RFC 3339"), "{}", body.0.message);
        }
    }
}
