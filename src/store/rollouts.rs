//! Rollouts: which revision each consumer of a source (Kustomization, HelmRelease) attempted
//! and applied, and when (`rollout_applies`), and the chart a HelmRelease names
//! (`rollout_charts`) — the writer's side, and the read of one page of sources.
//!
//! The protocol, as invariants:
//! 1. **Applies follow the consumer, in its transaction.** For every real change of a consumer
//!    the writer records what its new version tells ([`flux::observe`]): the attempted
//!    revision is inserted if new (`first_seen_at` = the transaction's time), the applied one
//!    (Ready at it) gets `applied_at` the first time only; its chart ([`flux::chart`]) is
//!    written or removed. An unchanged consumer (a hash-skipped upsert) records nothing, and a
//!    change that tells nothing new changes no row.
//! 2. **Bounded per consumer.** After recording, a consumer keeps its 10 newest revisions (by
//!    `first_seen_at`); rows go with their consumer (foreign key), so the tables hold at most
//!    10 rows per stored consumer and need no retention of their own.
//! 3. **What a consumer rolls out is read, not stored.** Its source's identity comes from its
//!    current `source` edge and `source_identities` at read time (a source seen after its
//!    consumer still counts); only the chart, which no edge carries, is kept here.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::queries::resolve_clusters;
use super::{Result, Store};
use crate::flux::{self, Health, ResourceSnapshot};

/// Revisions kept per consumer.
pub const KEPT_REVISIONS: i64 = 10;

/// A consumer's new version, as the writer stores it.
pub(crate) struct Consumed<'a> {
    /// The consumer's id.
    pub id: Uuid,
    /// Its new snapshot.
    pub snapshot: &'a ResourceSnapshot,
}

/// Record what the changed objects `items` tell about rollouts (the writer, in its
/// transaction; objects that are no consumers are skipped).
pub(crate) async fn record(tx: &Transaction<'_>, items: &[Consumed<'_>]) -> Result<()> {
    let mut rows = ApplyRows::default();
    let (mut charted, mut charts, mut uncharted) = (Vec::new(), Vec::new(), Vec::new());
    for c in items {
        let s = c.snapshot;
        if s.workload.is_some() || !flux::is_consumer(&s.api_group, &s.kind) {
            continue;
        }
        // A consumer's chart counts before it names any revision: it says which source it is.
        if let Some(o) = flux::observe(s) {
            rows.push(c.id, o);
        }
        match flux::chart(&s.object) {
            Some(chart) => {
                charted.push(c.id);
                charts.push(chart);
            }
            // Only a HelmRelease can have had one.
            None if s.kind == "HelmRelease" => uncharted.push(c.id),
            None => {}
        }
    }
    if !rows.ids.is_empty() {
        rows.insert(tx).await?;
        trim(tx, &rows.ids).await?;
    }
    if !charted.is_empty() {
        tx.execute(
            "INSERT INTO rollout_charts (resource_id, chart) SELECT * FROM unnest($1::uuid[], $2::text[]) \
             ON CONFLICT (resource_id) DO UPDATE SET chart = EXCLUDED.chart \
             WHERE rollout_charts.chart <> EXCLUDED.chart",
            &[&charted, &charts],
        )
        .await?;
    }
    if !uncharted.is_empty() {
        tx.execute(
            "DELETE FROM rollout_charts WHERE resource_id = ANY($1)",
            &[&uncharted],
        )
        .await?;
    }
    Ok(())
}

/// Keep each of `ids` to its [`KEPT_REVISIONS`] newest revisions.
async fn trim(tx: &Transaction<'_>, ids: &[Uuid]) -> Result<()> {
    tx.execute(
        "DELETE FROM rollout_applies a USING ( \
             SELECT resource_id, revision, row_number() OVER ( \
                 PARTITION BY resource_id ORDER BY first_seen_at DESC, revision DESC) AS n \
             FROM rollout_applies WHERE resource_id = ANY($1)) o \
         WHERE a.resource_id = o.resource_id AND a.revision = o.revision AND o.n > $2",
        &[&ids, &KEPT_REVISIONS],
    )
    .await?;
    Ok(())
}

/// The `rollout_applies` rows to record: one per (consumer, revision) told.
#[derive(Default)]
struct ApplyRows<'a> {
    ids: Vec<Uuid>,
    revisions: Vec<&'a str>,
    applied: Vec<bool>,
}

impl<'a> ApplyRows<'a> {
    fn push(&mut self, id: Uuid, o: flux::Observation<'a>) {
        if let Some(a) = o.applied {
            self.ids.push(id);
            self.revisions.push(a);
            self.applied.push(true);
        }
        // The same revision twice in one statement would make ON CONFLICT touch a row twice.
        if let Some(t) = o.attempted.filter(|t| Some(*t) != o.applied) {
            self.ids.push(id);
            self.revisions.push(t);
            self.applied.push(false);
        }
    }

    async fn insert(&self, tx: &Transaction<'_>) -> Result<()> {
        tx.execute(
            "INSERT INTO rollout_applies (resource_id, revision, applied_at) \
             SELECT id, revision, CASE WHEN applied THEN now() END \
             FROM unnest($1::uuid[], $2::text[], $3::bool[]) AS t(id, revision, applied) \
             ON CONFLICT (resource_id, revision) DO UPDATE SET applied_at = EXCLUDED.applied_at \
             WHERE rollout_applies.applied_at IS NULL AND EXCLUDED.applied_at IS NOT NULL",
            &[&self.ids, &self.revisions, &self.applied],
        )
        .await?;
        Ok(())
    }
}

/// Which consumers a rollout read covers.
#[derive(Debug, Clone, Default)]
pub struct RolloutFilter {
    /// One source (its rollout key) only.
    pub source: Option<String>,
    /// Only the sources this object consumes or is (a consumer's or a source object's id).
    pub resource: Option<Uuid>,
    /// Cluster ids or names (empty: all).
    pub clusters: Vec<String>,
    /// Cluster ids from a label selector, ANDed with `clusters` (`None`: no selector).
    pub cluster_ids: Option<Vec<Uuid>>,
    /// Consumer kinds (empty: Kustomization and HelmRelease).
    pub kinds: Vec<String>,
    /// Namespaces (empty: all).
    pub namespaces: Vec<String>,
    /// Source identities after this one (the page's cursor).
    pub after: Option<String>,
    /// Source identities per page (a Helm repository's charts share one).
    pub limit: usize,
}

/// A consumer of a source as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerRow {
    /// What it rolls out ([`flux::rollout_source`]).
    pub source: String,
    /// The consumer's id.
    pub id: Uuid,
    /// Its cluster.
    pub cluster_id: Uuid,
    /// Its cluster's name.
    pub cluster: String,
    /// Kustomization or HelmRelease.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Its health now.
    pub health: Health,
    /// The revision it applied last.
    pub revision: Option<String>,
    /// The revision it attempted last.
    pub last_attempted_revision: Option<String>,
    /// Its message now.
    pub message: Option<String>,
    /// When its health last changed.
    pub since: Option<DateTime<Utc>>,
}

/// One recorded (consumer, revision).
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyRow {
    /// The consumer.
    pub id: Uuid,
    /// The revision.
    pub revision: String,
    /// When the consumer first named it.
    pub first_seen_at: DateTime<Utc>,
    /// When it was first seen Ready at it.
    pub applied_at: Option<DateTime<Utc>>,
}

/// One page of sources: their consumers and what they recorded.
#[derive(Debug, Clone, Default)]
pub struct RolloutRows {
    /// Consumers, by source.
    pub consumers: Vec<ConsumerRow>,
    /// Their recorded revisions.
    pub applies: Vec<ApplyRow>,
    /// The last source identity of the page when more follow (the next page's `after`).
    pub next: Option<String>,
}

/// The page's source identities, in order, through the identity index ($1: one identity or
/// NULL, $2: after or NULL, $3: an object's id or NULL, $4: page size + 1). A HelmRepository's
/// charts share its identity, so they are on one page.
const IDENTITIES: &str = "\
SELECT DISTINCT identity FROM source_identities \
WHERE ($1::text IS NULL OR identity = $1) AND ($2::text IS NULL OR identity > $2) \
  AND ($3::uuid IS NULL OR identity IN ( \
      SELECT identity FROM source_identities WHERE resource_id = $3 \
      UNION ALL \
      SELECT s.identity FROM resource_edges e JOIN source_identities s ON s.resource_id = e.target_id \
      WHERE e.resource_id = $3 AND e.type = 'source')) \
ORDER BY identity LIMIT $4";

/// The consumers of the identities $1 ($2: kinds, $3: clusters or NULL, $4: namespaces or
/// NULL, $5: one source key or NULL, $6: an object's id or NULL: a consumer's own sources only).
const CONSUMERS: &str = "\
WITH c AS ( \
    SELECT si.identity || COALESCE('|chart=' || rc.chart, '') AS source, e.target_id, r.id, \
           r.cluster_id, cl.name AS cluster, r.kind, r.namespace, r.name, r.health, r.revision, \
           r.last_attempted_revision, r.message, r.last_transition_at \
    FROM source_identities si \
    JOIN resource_edges e ON e.target_id = si.resource_id AND e.type = 'source' \
    JOIN flux_resources r ON r.id = e.resource_id \
    JOIN clusters cl ON cl.id = r.cluster_id \
    LEFT JOIN rollout_charts rc ON rc.resource_id = r.id \
    WHERE si.identity = ANY($1) AND r.kind = ANY($2) AND NOT r.workload \
      AND r.api_group LIKE '%fluxcd.io' \
      AND ($3::uuid[] IS NULL OR r.cluster_id = ANY($3)) \
      AND ($4::text[] IS NULL OR r.namespace = ANY($4))) \
SELECT source, id, cluster_id, cluster, kind, namespace, name, health, revision, \
       last_attempted_revision, message, last_transition_at \
FROM c \
WHERE ($5::text IS NULL OR source = $5) \
  AND ($6::uuid IS NULL OR NOT EXISTS (SELECT 1 FROM c o WHERE o.id = $6) \
       OR source IN (SELECT o.source FROM c o WHERE o.id = $6)) \
ORDER BY source, cluster, namespace, name";

impl Store {
    /// One page of sources matching `filter`, with their consumers and recorded revisions.
    pub async fn rollouts(&self, filter: &RolloutFilter) -> Result<RolloutRows> {
        let conn = self.read_conn().await?;
        let clusters = clusters_of(&conn, filter).await?;
        let (identity, _) = split_source(filter.source.as_deref());
        let page = filter.limit as i64 + 1;
        let mut identities: Vec<String> = conn
            .query(
                IDENTITIES,
                &[&identity, &filter.after, &filter.resource, &page],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let more = identities.len() > filter.limit;
        identities.truncate(filter.limit);
        let kinds: Vec<String> = if filter.kinds.is_empty() {
            flux::CONSUMER_KINDS.iter().map(|k| k.to_string()).collect()
        } else {
            filter.kinds.clone()
        };
        let namespaces = (!filter.namespaces.is_empty()).then_some(&filter.namespaces);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
            &identities,
            &kinds,
            &clusters,
            &namespaces,
            &filter.source,
            &filter.resource,
        ];
        let consumers = conn
            .query(CONSUMERS, &params)
            .await?
            .iter()
            .map(consumer_row)
            .collect::<Result<Vec<_>>>()?;
        let applies = applies_of(&conn, &consumers).await?;
        Ok(RolloutRows {
            consumers,
            applies,
            next: identities.last().filter(|_| more).cloned(),
        })
    }
}

/// What `consumers` recorded (at most [`KEPT_REVISIONS`] rows each).
async fn applies_of(
    conn: &tokio_postgres::Client,
    consumers: &[ConsumerRow],
) -> Result<Vec<ApplyRow>> {
    let ids: Vec<Uuid> = consumers.iter().map(|c| c.id).collect();
    let rows = conn
        .query(
            "SELECT resource_id, revision, first_seen_at, applied_at FROM rollout_applies \
             WHERE resource_id = ANY($1)",
            &[&ids],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| ApplyRow {
            id: r.get(0),
            revision: r.get(1),
            first_seen_at: r.get(2),
            applied_at: r.get(3),
        })
        .collect())
}

/// A source key's identity and chart (`…|chart=NAME`, see [`flux::rollout_source`]).
pub fn split_source(key: Option<&str>) -> (Option<&str>, Option<&str>) {
    match key {
        None => (None, None),
        Some(k) => match k.rsplit_once("|chart=") {
            Some((identity, chart)) => (Some(identity), Some(chart)),
            None => (Some(k), None),
        },
    }
}

/// The cluster ids the filter allows (`None`: every cluster): `clusters` resolved, ANDed with
/// the label selector's.
async fn clusters_of(
    conn: &tokio_postgres::Client,
    filter: &RolloutFilter,
) -> Result<Option<Vec<Uuid>>> {
    let named = if filter.clusters.is_empty() {
        None
    } else {
        // Nothing resolved selects nothing (nil is no cluster's id).
        Some(resolve_clusters(conn, &filter.clusters).await?).map(|ids| {
            if ids.is_empty() {
                vec![Uuid::nil()]
            } else {
                ids
            }
        })
    };
    Ok(match (named, &filter.cluster_ids) {
        (Some(n), Some(l)) => Some(n.into_iter().filter(|id| l.contains(id)).collect()),
        (Some(n), None) => Some(n),
        (None, Some(l)) => Some(l.clone()),
        (None, None) => None,
    })
}

fn consumer_row(r: &tokio_postgres::Row) -> Result<ConsumerRow> {
    Ok(ConsumerRow {
        source: r.get(0),
        id: r.get(1),
        cluster_id: r.get(2),
        cluster: r.get(3),
        kind: r.get(4),
        namespace: r.get(5),
        name: r.get(6),
        health: r.try_get(7)?,
        revision: r.get(8),
        last_attempted_revision: r.get(9),
        message: r.get(10),
        since: r.get(11),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_key_splits_into_identity_and_chart() {
        assert_eq!(split_source(None), (None, None));
        assert_eq!(split_source(Some("Git|u|b")), (Some("Git|u|b"), None));
        assert_eq!(
            split_source(Some("HelmRepository|u|chart=podinfo")),
            (Some("HelmRepository|u"), Some("podinfo"))
        );
    }
}
