//! `/api/v1/reliability`: per group and per object, time failed and stalled, availability,
//! failures, mean time to recover and flapping over a window (`history` computes them from the
//! daily roll-ups and the change log).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::error::ApiError;
use super::model::Health;
use super::params::{self, bad_param};
use super::{ApiTags, AppState};
use crate::history::report::{self, Group};
use crate::history::window;
use crate::store::reliability::{Figures, ObjectFigures, RollupFilter};

/// Offenders listed per group.
const GROUP_TOP: usize = 5;
/// Default and largest number of groups (and of top offenders).
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// How far back a report looks.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReliabilityWindow {
    /// The last 24 hours.
    #[oai(rename = "24h")]
    Day,
    /// The last 7 days.
    #[oai(rename = "7d")]
    Week,
    /// The last 30 days.
    #[oai(rename = "30d")]
    Month,
    /// The last 90 days.
    #[oai(rename = "90d")]
    Quarter,
}

impl ReliabilityWindow {
    fn days(self) -> i64 {
        match self {
            ReliabilityWindow::Day => 1,
            ReliabilityWindow::Week => 7,
            ReliabilityWindow::Month => 30,
            ReliabilityWindow::Quarter => 90,
        }
    }
}

/// What objects are grouped by.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Grouping {
    Cluster,
    Kind,
    Namespace,
    Object,
    Label(String),
}

/// What `group` must be, for error messages.
const GROUP_FORMAT: &str = "one of cluster, kind, namespace, object, label:KEY";

impl Grouping {
    fn parse(text: &str) -> Result<Grouping, ApiError> {
        let bad = |why: String| bad_param("group", format!("{why}; expected {GROUP_FORMAT}"));
        match text.trim() {
            "" | "cluster" => Ok(Grouping::Cluster),
            "kind" => Ok(Grouping::Kind),
            "namespace" => Ok(Grouping::Namespace),
            "object" => Ok(Grouping::Object),
            other => match other.strip_prefix("label:") {
                Some(key) if valid_label_key(key) => Ok(Grouping::Label(key.to_string())),
                Some(key) => Err(bad(format!("{key:?} is not a label key"))),
                None => Err(bad(format!("unknown grouping {other:?}"))),
            },
        }
    }

    fn name(&self) -> String {
        match self {
            Grouping::Cluster => "cluster".into(),
            Grouping::Kind => "kind".into(),
            Grouping::Namespace => "namespace".into(),
            Grouping::Object => "object".into(),
            Grouping::Label(k) => format!("label:{k}"),
        }
    }
}

/// A Kubernetes label key's shape (the `group` pattern of the spec says the same): an
/// optional DNS prefix of lower-case letters, digits, `-` and `.` and a `/`, then a name of
/// letters, digits, `-`, `_` and `.`; each starts and ends alphanumeric. Lengths are not
/// checked: a longer key matches no cluster.
fn valid_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let alnum_ends = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
    };
    let name_ok = alnum_ends(name)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    let prefix_ok = prefix.is_none_or(|p| {
        alnum_ends(p)
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c))
    });
    name_ok && prefix_ok
}

/// Figures over the window.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct ReliabilityFigures {
    /// Seconds the objects existed (summed over objects).
    pub observed_seconds: f64,
    /// Seconds failed.
    pub failed_seconds: f64,
    /// Seconds stalled (Flux's `Stalled` condition: the controller gave up until the spec
    /// changes).
    pub stalled_seconds: f64,
    /// Percent of the observed time neither failed nor stalled (100 when nothing was observed).
    pub availability: f64,
    /// Entries into `failed` (a first sight as failed included).
    pub failures: i64,
    /// Broken spells (failed or stalled) ended by `ready`.
    pub recoveries: i64,
    /// Mean time to recover: the recovered spells' mean length, in seconds; null without a
    /// recovery.
    pub mttr_seconds: Option<f64>,
    /// Health changes of existing objects.
    pub transitions: i64,
    /// Health changes per day of the window.
    pub flapping_per_day: f64,
}

fn figures(f: &Figures, days: f64) -> ReliabilityFigures {
    ReliabilityFigures {
        observed_seconds: f.observed_secs,
        failed_seconds: f.failed_secs,
        stalled_seconds: f.stalled_secs,
        availability: report::availability(f),
        failures: f.failures,
        recoveries: f.recoveries,
        mttr_seconds: report::mttr(f),
        transitions: f.transitions,
        flapping_per_day: report::flapping(f, days),
    }
}

/// One object's figures.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct ReliabilityObject {
    /// Object id (`GET /api/v1/resources/{id}` while it exists).
    pub id: Uuid,
    /// Cluster id.
    pub cluster_id: Uuid,
    /// Cluster name; null when the cluster is gone and its name was never recorded.
    pub cluster: Option<String>,
    /// API group.
    pub api_group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Its health at the end of the window; null when it was deleted.
    pub health: Option<Health>,
    /// What it did in the window.
    pub figures: ReliabilityFigures,
}

fn object(o: &ObjectFigures, days: f64) -> ReliabilityObject {
    ReliabilityObject {
        id: o.id,
        cluster_id: o.key.cluster_id,
        cluster: o.key.cluster.clone(),
        api_group: o.key.api_group.clone(),
        kind: o.key.kind.clone(),
        namespace: o.key.namespace.clone(),
        name: o.key.name.clone(),
        health: o.end.health.map(Into::into),
        figures: figures(&o.figures, days),
    }
}

/// One group's figures.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct ReliabilityGroup {
    /// The group's value (a cluster name, kind, namespace, `cluster/kind/namespace/name`, or
    /// label value); null for objects without one (a cluster without the label).
    pub key: Option<String>,
    /// Objects in the group.
    pub objects: u32,
    /// Their figures summed.
    pub figures: ReliabilityFigures,
    /// Its worst objects (up to 5): failed, stalled or changing health in the window.
    pub top: Vec<ReliabilityObject>,
}

/// Reliability figures of a window.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct ReliabilityReport {
    /// The grouping, as requested.
    pub group: String,
    /// The window, as requested.
    pub window: ReliabilityWindow,
    /// Start of the window: UTC midnight before now minus the window, so that whole days come
    /// from their roll-ups.
    pub from: DateTime<Utc>,
    /// End of the window (now).
    pub to: DateTime<Utc>,
    /// Length of the window in days (for the per-day figures).
    pub days: f64,
    /// Where the figures start: later than `from` when neither roll-ups nor the change log
    /// reach back that far; null when there is nothing.
    pub covered_from: Option<DateTime<Utc>>,
    /// The figures cover the whole window.
    pub complete: bool,
    /// All selected objects' figures summed.
    pub total: ReliabilityFigures,
    /// Groups, worst first (most time failed or stalled, then failures, then transitions).
    pub groups: Vec<ReliabilityGroup>,
    /// More groups than `limit`.
    pub groups_truncated: bool,
    /// The worst objects across the groups (up to `limit`), worst first.
    pub top: Vec<ReliabilityObject>,
}

#[derive(ApiResponse)]
enum ReliabilityResponse {
    /// The figures.
    #[oai(status = 200)]
    Ok(Json<ReliabilityReport>),
}

/// The reliability endpoint.
pub struct ReliabilityApi;

#[OpenApi(prefix_path = "/api/v1/reliability", tag = "ApiTags::Reliability")]
impl ReliabilityApi {
    /// Reliability figures
    ///
    /// Per group and per object: seconds failed and stalled, availability, failures, mean
    /// time to recover and flapping over a window. Closed UTC days come from daily roll-ups
    /// (kept `FLUXO_RELIABILITY_RETENTION_DAYS`, beyond the change log), the rest from the
    /// change log. Filters combine with AND, repeated values of one filter with OR.
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    #[oai(path = "/", method = "get", operation_id = "getReliability")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        /// Group by `cluster` (default), `kind`, `namespace`, `object`, or `label:KEY` (a
        /// cluster label).
        #[oai(validator(
            pattern = r"^(cluster|kind|namespace|object|label:([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$"
        ))]
        group: Query<Option<String>>,
        /// The window (default `7d`).
        window: Query<Option<ReliabilityWindow>>,
        /// Cluster id or name (repeatable, up to 100).
        #[oai(default)]
        cluster: Query<Vec<String>>,
        /// Kind, plural or short name (repeatable, up to 100).
        #[oai(default)]
        kind: Query<Vec<String>>,
        /// Namespace (repeatable, up to 100).
        #[oai(default)]
        namespace: Query<Vec<String>>,
        /// Most groups and top offenders, 1–500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
    ) -> Result<ReliabilityResponse, ApiError> {
        params::at_most(&[
            ("cluster", cluster.0.len()),
            ("kind", kind.0.len()),
            ("namespace", namespace.0.len()),
        ])?;
        let grouping = Grouping::parse(group.0.as_deref().unwrap_or(""))?;
        let window = window.0.unwrap_or(ReliabilityWindow::Week);
        let labels = cluster_labels(&state, &grouping).await?;
        let filter = RollupFilter {
            cluster_ids: cluster_ids(&state, cluster.0).await?,
            kinds: params::kinds(&kind.0)?,
            namespaces: params::values(namespace.0),
        };
        let to = Utc::now();
        let from = (to - chrono::Duration::days(window.days())).date_naive();
        let found = window::figures(&state.store, from, to, &filter).await?;
        let request = Request {
            grouping,
            window,
            from: crate::store::reliability::midnight(from),
            to,
            limit: limit.0.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize,
        };
        Ok(ReliabilityResponse::Ok(Json(
            request.report(found, &labels),
        )))
    }
}

/// The clusters a `cluster` filter names (ids or names; the guard has narrowed a scoped
/// caller's to the clusters in scope); None without a filter.
async fn cluster_ids(state: &AppState, named: Vec<String>) -> Result<Option<Vec<Uuid>>, ApiError> {
    let named = params::values(named);
    if named.is_empty() {
        return Ok(None);
    }
    let clusters = state.registry.list().await?;
    let ids = named
        .iter()
        .flat_map(|v| {
            clusters
                .iter()
                .filter(move |c| c.name == *v || c.id.to_string() == *v)
                .map(|c| c.id)
                .chain(v.parse::<Uuid>().ok())
        })
        .collect();
    Ok(Some(ids))
}

/// Each cluster's value of the grouping's label (only for `label:KEY`).
async fn cluster_labels(
    state: &AppState,
    grouping: &Grouping,
) -> Result<HashMap<Uuid, String>, ApiError> {
    let Grouping::Label(key) = grouping else {
        return Ok(HashMap::new());
    };
    Ok(state
        .registry
        .list()
        .await?
        .into_iter()
        .filter_map(|c| {
            let value = c.labels.get(key)?.as_str()?.to_string();
            Some((c.id, value))
        })
        .collect())
}

/// A report being built.
struct Request {
    grouping: Grouping,
    window: ReliabilityWindow,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: usize,
}

impl Request {
    fn key(&self, o: &ObjectFigures, labels: &HashMap<Uuid, String>) -> Option<String> {
        let k = &o.key;
        match &self.grouping {
            Grouping::Cluster => k.cluster.clone(),
            Grouping::Kind => Some(k.kind.clone()),
            Grouping::Namespace => Some(k.namespace.clone()),
            Grouping::Object => Some(format!(
                "{}/{}/{}/{}",
                k.cluster.as_deref().unwrap_or("?"),
                k.kind,
                k.namespace,
                k.name
            )),
            Grouping::Label(_) => labels.get(&k.cluster_id).cloned(),
        }
    }

    fn report(
        &self,
        found: window::WindowFigures,
        labels: &HashMap<Uuid, String>,
    ) -> ReliabilityReport {
        let days = (self.to - self.from).num_milliseconds() as f64 / 86_400_000.0;
        let objects = found.objects;
        let groups = report::group(&objects, |o| self.key(o, labels));
        let mut total = Figures::default();
        for g in &groups {
            total.add(&g.total);
        }
        let mut worst: Vec<&ObjectFigures> = objects
            .iter()
            .filter(|o| report::is_offender(&o.figures))
            .collect();
        report::rank(&mut worst);
        ReliabilityReport {
            group: self.grouping.name(),
            window: self.window,
            from: self.from,
            to: self.to,
            days,
            complete: found.covered_from.is_some_and(|c| c <= self.from),
            covered_from: found.covered_from,
            total: figures(&total, days),
            groups_truncated: groups.len() > self.limit,
            groups: groups
                .iter()
                .take(self.limit)
                .map(|g| group(g, days))
                .collect(),
            top: worst
                .into_iter()
                .take(self.limit)
                .map(|o| object(o, days))
                .collect(),
        }
    }
}

fn group(g: &Group<'_>, days: f64) -> ReliabilityGroup {
    ReliabilityGroup {
        key: g.key.clone(),
        objects: g.members.len() as u32,
        figures: figures(&g.total, days),
        top: g
            .members
            .iter()
            .filter(|o| report::is_offender(&o.figures))
            .take(GROUP_TOP)
            .map(|o| object(o, days))
            .collect(),
    }
}

const _: () = assert!(MAX_LIMIT == 500, "the limit validator above says 500");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groupings_parse_and_bad_ones_name_the_parameter() {
        assert_eq!(Grouping::parse("").unwrap(), Grouping::Cluster);
        assert_eq!(Grouping::parse("kind").unwrap(), Grouping::Kind);
        assert_eq!(
            Grouping::parse("label:env").unwrap(),
            Grouping::Label("env".into())
        );
        assert_eq!(
            Grouping::parse("label:example.com/team").unwrap().name(),
            "label:example.com/team"
        );
        for bad in ["pod", "label:", "label:-x", "label:a b", "label:/x"] {
            let ApiError::BadRequest(body) = Grouping::parse(bad).unwrap_err() else {
                panic!("not 400 for {bad}")
            };
            assert_eq!(body.0.code, "invalid_parameter");
            assert!(body.0.message.contains("`group`"), "{}", body.0.message);
        }
    }
}
