//! The fleet at a moment: every object's health, revision and message as they were at a
//! time `T`, rebuilt from the change log, as rows the resource list's filters, sorts and
//! counts read like the live table (see `filter::list_statement_in`).
//!
//! An object's state at `T`, by what the retained log holds about it (events ignored):
//!
//! 1. a change at or before `T`: the last one (by seq). An upsert gives the health, revision,
//!    reason and message it logged; a delete means the object was gone at `T`.
//! 2. only changes after `T`: the first one. A first sight (no health before) means the object
//!    did not exist yet; otherwise it existed, unchanged since before the oldest retained
//!    change, with the health the change started from. Its revision, reason and message went
//!    with the pruned entries (null), and its last update is the oldest retained change.
//! 3. no change at all: unchanged since before the oldest retained change, so as stored now
//!    (if it exists now).
//!
//! Callers refuse a `T` before the oldest retained change once retention has pruned
//! anything (410): the objects that changed in between could not be rebuilt.
//!
//! Columns the log does not keep are null or empty in historical rows: API version, labels,
//! generations, source and dependency references, the last handled request and the time
//! of the last condition transition; a workload's owner, kstatus and replicas, and a Flux
//! object's workload roll-up. A workload is told from a Flux object by its API group (every
//! Flux group ends in `fluxcd.io`). Objects of clusters no longer registered are left out,
//! as in the live list.

use chrono::{DateTime, Utc};
use tokio_postgres::IsolationLevel;

use super::cursor::Cursor;
use super::filter::{ResourceFilter, ResourceOrder, count_statement_in, list_statement_in};
use super::list::{Page, Total, resolve_clusters};
use super::sql::Params;
use super::stats::{ClusterOverviewRow, Counted, FleetCounts, HealthCountRow};
use crate::store::types::column;
use crate::store::{ResourceRow, Result, Store};

/// The state of every object at `$t`: id, key, health, reason, message, revision, last seq
/// and last update (cases 1–3 of the module docs).
const STATES: &str = "\
SELECT id, cluster_id, api_group, kind, namespace, name, health, reason, message, revision, last_seq, updated_at \
FROM (SELECT DISTINCT ON (h.resource_id) h.resource_id AS id, h.cluster_id, h.api_group, h.kind, h.namespace, \
        h.name, h.op, h.health_after AS health, h.reason, h.message, h.revision, h.seq AS last_seq, h.at AS updated_at \
      FROM resource_changes h WHERE h.op <> 'event' AND h.at <= $t ORDER BY h.resource_id, h.seq DESC) last \
WHERE last.op = 'upsert' \
UNION ALL \
SELECT id, cluster_id, api_group, kind, namespace, name, health, NULL, NULL, NULL, 0::bigint, \
       (SELECT min(at) FROM resource_changes) \
FROM (SELECT DISTINCT ON (h.resource_id) h.resource_id AS id, h.cluster_id, h.api_group, h.kind, h.namespace, \
        h.name, h.health_before AS health \
      FROM resource_changes h WHERE h.op <> 'event' AND h.at > $t ORDER BY h.resource_id, h.seq) next \
WHERE next.health IS NOT NULL AND NOT EXISTS (SELECT 1 FROM resource_changes b \
      WHERE b.resource_id = next.id AND b.op <> 'event' AND b.at <= $t) \
UNION ALL \
SELECT f.id, f.cluster_id, f.api_group, f.kind, f.namespace, f.name, f.health, f.reason, f.message, f.revision, \
       f.last_seq, f.updated_at \
FROM flux_resources f WHERE f.created_at <= $t AND NOT EXISTS (SELECT 1 FROM resource_changes b \
      WHERE b.resource_id = f.id AND b.op <> 'event')";

/// The states as rows of `flux_resources`' shape (aliased `r`, joined with `clusters` as `c`),
/// binding `at` in `p`.
pub fn as_of_source(at: DateTime<Utc>, p: &mut Params) -> String {
    let t = format!("{}::timestamptz", p.bind(at));
    format!(
        "(SELECT s.id, s.cluster_id, s.api_group, ''::text AS api_version, s.kind, s.namespace, s.name, \
                 s.health, s.reason, s.message, s.revision, NULL::text AS last_attempted_revision, \
                 NULL::text AS revision_detail, s.health = 'suspended' AS suspended, NULL::jsonb AS source_ref, \
                 '[]'::jsonb AS depends_on, NULL::text AS last_handled_reconcile_at, '{{}}'::jsonb AS labels, \
                 NULL::bigint AS generation, NULL::bigint AS observed_generation, s.last_seq, \
                 NULL::timestamptz AS last_transition_at, s.updated_at AS created_at, s.updated_at, \
                 s.api_group NOT LIKE '%fluxcd.io' AS workload, NULL::uuid AS owner_id, NULL::text AS kstatus, \
                 NULL::bigint AS ready_replicas, NULL::bigint AS desired_replicas, NULL::text AS workload_health \
          FROM ({}) s) r JOIN clusters c ON c.id = r.cluster_id",
        STATES.replace("$t", &t)
    )
}

impl Store {
    /// [`Store::list_resources`] of the fleet as it was at `at`. Sorts that the live list
    /// splits by health are not offered (the caller refuses them), nor label filters.
    pub async fn list_resources_as_of(
        &self,
        at: DateTime<Utc>,
        filter: &ResourceFilter,
        order: ResourceOrder,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<ResourceRow>> {
        let conn = self.read_conn().await?;
        let clusters = resolve_clusters(&conn, &filter.clusters).await?;
        let mut p = Params::default();
        let source = as_of_source(at, &mut p);
        let (sql, params) = list_statement_in(
            &source,
            p,
            filter,
            &clusters,
            order,
            after,
            limit as i64 + 1,
        );
        let rows = conn
            .query(&sql, &params.refs())
            .await?
            .iter()
            .map(ResourceRow::from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(rows, limit, |row| order.cursor_after(row)))
    }

    /// [`Store::count_resources`] of the fleet as it was at `at`.
    pub async fn count_resources_as_of(
        &self,
        at: DateTime<Utc>,
        filter: &ResourceFilter,
        cap: i64,
    ) -> Result<Total> {
        let conn = self.read_conn().await?;
        let clusters = resolve_clusters(&conn, &filter.clusters).await?;
        let mut p = Params::default();
        let source = as_of_source(at, &mut p);
        let (sql, params) = count_statement_in(&source, p, filter, &clusters, cap + 1);
        let count: i64 = conn.query_one(&sql, &params.refs()).await?.get(0);
        Ok(Total {
            count: count.min(cap),
            capped: count > cap,
        })
    }

    /// [`Store::fleet_counts`] of the fleet as it was at `at`: counts by cluster × kind ×
    /// health and every registered cluster, without status (no history of it is kept).
    pub async fn fleet_counts_as_of(&self, at: DateTime<Utc>) -> Result<FleetCounts> {
        let mut conn = self.read_conn().await?;
        let tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let mut p = Params::default();
        let sql = format!(
            "SELECT r.cluster_id, r.kind, r.health, r.workload, count(*) FROM {} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3",
            as_of_source(at, &mut p)
        );
        let counts = tx.query(&sql, &p.refs()).await?;
        let clusters = tx
            .query("SELECT id, name FROM clusters ORDER BY name", &[])
            .await?;
        tx.commit().await?;
        let counts = counts
            .iter()
            .map(|r| {
                Ok(HealthCountRow {
                    cluster_id: r.get(0),
                    kind: r.get(1),
                    health: column(r, 2)?,
                    of: match r.get::<_, bool>(3) {
                        true => Counted::Workloads,
                        false => Counted::Flux,
                    },
                    count: r.get(4),
                })
            })
            .collect::<Result<_>>()?;
        let clusters = clusters
            .iter()
            .map(|r| ClusterOverviewRow {
                id: r.get(0),
                name: r.get(1),
                status: None,
            })
            .collect();
        Ok(FleetCounts { counts, clusters })
    }
}
