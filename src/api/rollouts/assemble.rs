//! From the store's rows (consumers as they are now, the revisions they recorded) to rollouts:
//! per source its revisions, newest first, and per revision each consumer's state. Pure.
//!
//! Revisions are ordered by when the fleet first saw them (the earliest `first_seen_at` of any
//! consumer). For revision R, a consumer is
//! - `failing` when it is failed or stalled now with `lastAttemptedRevision` = R;
//! - else `applied` when it was Ready at R at some point (`applied_at`);
//! - else `superseded` when it applied a revision newer than R without applying R;
//! - else `pending` (still on an older revision, or working on R).
//!
//! Times: a consumer's lag is its `applied_at` minus the revision's first sighting; median and
//! p90 are nearest-rank over the consumers that applied R.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    RolloutCluster, RolloutCounts, RolloutObject, RolloutRevision, RolloutSource, RolloutState,
};
use crate::flux::Health;
use crate::store::{ApplyRow, ConsumerRow};

/// Rollouts of the sources of `consumers`, in their order, with at most `revisions` revisions
/// each.
pub fn sources(
    consumers: Vec<ConsumerRow>,
    applies: Vec<ApplyRow>,
    revisions: usize,
) -> Vec<RolloutSource> {
    let mut by_consumer: HashMap<Uuid, Vec<ApplyRow>> = HashMap::new();
    for a in applies {
        by_consumer.entry(a.id).or_default().push(a);
    }
    let mut groups: Vec<(String, Vec<ConsumerRow>)> = Vec::new();
    for c in consumers {
        match groups.last_mut() {
            Some((s, list)) if *s == c.source => list.push(c),
            _ => groups.push((c.source.clone(), vec![c])),
        }
    }
    groups
        .into_iter()
        .map(|(key, list)| source(key, &list, &by_consumer, revisions))
        .collect()
}

/// One consumer and what it recorded.
struct Consumer<'a> {
    row: &'a ConsumerRow,
    applies: &'a [ApplyRow],
}

impl Consumer<'_> {
    fn applied_at(&self, revision: &str) -> Option<DateTime<Utc>> {
        self.applies
            .iter()
            .find(|a| a.revision == revision)
            .and_then(|a| a.applied_at)
    }

    /// Its state at the revision of rank `rank` (0: newest) in `order`.
    fn state(&self, revision: &str, rank: usize, order: &HashMap<&str, usize>) -> RolloutState {
        let row = self.row;
        let broken = matches!(row.health, Health::Failed | Health::Stalled);
        if broken && row.last_attempted_revision.as_deref() == Some(revision) {
            return RolloutState::Failing;
        }
        if self.applied_at(revision).is_some() {
            return RolloutState::Applied;
        }
        let newer_applied = self.applies.iter().any(|a| {
            a.applied_at.is_some() && order.get(a.revision.as_str()).is_some_and(|r| *r < rank)
        });
        if newer_applied {
            RolloutState::Superseded
        } else {
            RolloutState::Pending
        }
    }
}

fn source(
    key: String,
    rows: &[ConsumerRow],
    by_consumer: &HashMap<Uuid, Vec<ApplyRow>>,
    revisions: usize,
) -> RolloutSource {
    let consumers: Vec<Consumer> = rows
        .iter()
        .map(|row| Consumer {
            row,
            applies: by_consumer.get(&row.id).map_or(&[], Vec::as_slice),
        })
        .collect();
    let firsts = first_seen(&consumers);
    let order: HashMap<&str, usize> = firsts
        .iter()
        .enumerate()
        .map(|(i, (r, _))| (r.as_str(), i))
        .collect();
    let list: Vec<RolloutRevision> = firsts
        .iter()
        .take(revisions)
        .enumerate()
        .map(|(rank, (r, first))| revision(r, *first, rank, &consumers, &order))
        .collect();
    let mut clusters: Vec<Uuid> = rows.iter().map(|r| r.cluster_id).collect();
    clusters.sort_unstable();
    clusters.dedup();
    let parts = SourceParts::parse(&key);
    RolloutSource {
        kind: parts.kind,
        url: parts.url,
        reference: parts.reference,
        chart: parts.chart,
        source: key,
        consumers: rows.len() as u32,
        clusters: clusters.len() as u32,
        latest: firsts.first().map(|(r, _)| r.clone()),
        revisions_total: firsts.len() as u32,
        revisions: list,
    }
}

/// Every revision the consumers recorded with the fleet's first sighting, newest first.
fn first_seen(consumers: &[Consumer]) -> Vec<(String, DateTime<Utc>)> {
    let mut firsts: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for a in consumers.iter().flat_map(|c| c.applies) {
        let e = firsts.entry(a.revision.as_str()).or_insert(a.first_seen_at);
        *e = (*e).min(a.first_seen_at);
    }
    let mut list: Vec<(String, DateTime<Utc>)> =
        firsts.into_iter().map(|(r, t)| (r.to_owned(), t)).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    list
}

fn revision(
    revision: &str,
    first: DateTime<Utc>,
    rank: usize,
    consumers: &[Consumer],
    order: &HashMap<&str, usize>,
) -> RolloutRevision {
    let mut counts = RolloutCounts::default();
    let mut clusters: BTreeMap<(String, Uuid), Vec<RolloutObject>> = BTreeMap::new();
    let mut applied: Vec<DateTime<Utc>> = Vec::new();
    for c in consumers {
        let state = c.state(revision, rank, order);
        counts.add(state);
        let at = c.applied_at(revision);
        applied.extend(at);
        let key = (c.row.cluster.clone(), c.row.cluster_id);
        clusters
            .entry(key)
            .or_default()
            .push(object(c.row, state, at));
    }
    let lags: Vec<f64> = applied
        .iter()
        .map(|t| ((*t - first).num_milliseconds().max(0)) as f64 / 1000.0)
        .collect();
    RolloutRevision {
        revision: revision.to_owned(),
        first_seen_at: first,
        first_applied_at: applied.iter().min().copied(),
        last_applied_at: applied.iter().max().copied(),
        median_seconds: percentile(&lags, 0.5),
        p90_seconds: percentile(&lags, 0.9),
        counts,
        clusters: clusters
            .into_iter()
            .map(|((name, id), objects)| RolloutCluster {
                cluster_id: id,
                cluster: name,
                state: worst(&objects),
                objects,
            })
            .collect(),
    }
}

fn object(row: &ConsumerRow, state: RolloutState, at: Option<DateTime<Utc>>) -> RolloutObject {
    let says = matches!(state, RolloutState::Failing | RolloutState::Pending);
    RolloutObject {
        id: row.id,
        kind: row.kind.clone(),
        namespace: row.namespace.clone(),
        name: row.name.clone(),
        state,
        health: row.health.into(),
        revision: row.revision.clone(),
        last_attempted_revision: row.last_attempted_revision.clone(),
        applied_at: at,
        since: row.since,
        message: row.message.clone().filter(|_| says),
    }
}

/// A cluster's state: its worst object's (failing, pending, applied, superseded).
fn worst(objects: &[RolloutObject]) -> RolloutState {
    use RolloutState::*;
    [Failing, Pending, Applied, Superseded]
        .into_iter()
        .find(|s| objects.iter().any(|o| o.state == *s))
        .unwrap_or(Pending)
}

/// The nearest-rank percentile `p` (0–1] of `values`; `None` when empty.
fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl RolloutCounts {
    fn add(&mut self, state: RolloutState) {
        match state {
            RolloutState::Applied => self.applied += 1,
            RolloutState::Pending => self.pending += 1,
            RolloutState::Failing => self.failing += 1,
            RolloutState::Superseded => self.superseded += 1,
        }
    }
}

/// A source key's parts: `Kind|url|ref` (Git, OCI), `HelmRepository|url`,
/// `Bucket|endpoint|bucket|prefix`, each maybe followed by `|chart=NAME`.
struct SourceParts {
    kind: String,
    url: String,
    reference: Option<String>,
    chart: Option<String>,
}

impl SourceParts {
    fn parse(key: &str) -> SourceParts {
        let (rest, chart) = match key.rsplit_once("|chart=") {
            Some((rest, chart)) => (rest, Some(chart.to_owned())),
            None => (key, None),
        };
        let mut parts = rest.splitn(3, '|');
        let kind = parts.next().unwrap_or_default().to_owned();
        let url = parts.next().unwrap_or_default().to_owned();
        let reference = parts.next().filter(|r| !r.is_empty()).map(str::to_owned);
        SourceParts {
            kind,
            url,
            reference,
            chart,
        }
    }
}

#[cfg(test)]
#[path = "assemble_tests.rs"]
mod tests;
