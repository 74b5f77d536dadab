//! `/api/v1/rollouts`: where each revision of each source has reached across the fleet, and
//! where it fails. Sources are what consumers (Kustomizations, HelmReleases) take revisions
//! from, matched across clusters by identity (Git URL + ref, OCI URL + ref, Helm repository +
//! chart, bucket); the store keeps what each consumer attempted and applied
//! (`store::rollouts`), `assemble` turns it into per-revision states.

mod assemble;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::error::ApiError;
use super::model::Health;
use super::params::{self, bad_param};
use super::{ApiTags, AppState, timeline};
use crate::flux;
use crate::store::RolloutFilter;

/// Sources per page when `limit` is absent.
const DEFAULT_SOURCES: u32 = 20;
/// Revisions per source when `revisions` is absent.
const DEFAULT_REVISIONS: u32 = 5;

/// Where a consumer stands with a revision.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[oai(rename_all = "lowercase")]
pub enum RolloutState {
    /// Ready at the revision (now or earlier).
    Applied,
    /// Not there yet: on an older revision, or working on this one.
    Pending,
    /// Failed or stalled now, having attempted this revision last.
    Failing,
    /// Went on to a newer revision without applying this one.
    Superseded,
}

/// How many consumers stand where, for one revision.
#[derive(Object, Debug, Clone, Default, PartialEq, Eq)]
pub struct RolloutCounts {
    /// Ready at it.
    pub applied: u32,
    /// Not there yet.
    pub pending: u32,
    /// Failing at it.
    pub failing: u32,
    /// Went past it.
    pub superseded: u32,
}

/// One consumer's state at a revision.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct RolloutObject {
    /// The consumer's resource id.
    pub id: Uuid,
    /// Kustomization or HelmRelease.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Where it stands with the revision.
    pub state: RolloutState,
    /// Its health now.
    pub health: Health,
    /// The revision it applied last.
    pub revision: Option<String>,
    /// The revision it attempted last.
    pub last_attempted_revision: Option<String>,
    /// When it was first seen Ready at the revision.
    pub applied_at: Option<DateTime<Utc>>,
    /// When its health last changed.
    pub since: Option<DateTime<Utc>>,
    /// Its message now (for `failing` and `pending`).
    pub message: Option<String>,
}

/// One cluster's consumers at a revision.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct RolloutCluster {
    /// The cluster's id.
    pub cluster_id: Uuid,
    /// The cluster's name.
    pub cluster: String,
    /// Its worst consumer's state (failing, pending, applied, superseded).
    pub state: RolloutState,
    /// Its consumers of the source.
    pub objects: Vec<RolloutObject>,
}

/// One revision of a source across the fleet.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct RolloutRevision {
    /// The revision (`main@sha1:…`, a chart version, …).
    pub revision: String,
    /// When any consumer first named it.
    pub first_seen_at: DateTime<Utc>,
    /// The first apply (a consumer Ready at it).
    pub first_applied_at: Option<DateTime<Utc>>,
    /// The last apply so far.
    pub last_applied_at: Option<DateTime<Utc>>,
    /// Median seconds from `firstSeenAt` to a consumer's apply.
    pub median_seconds: Option<f64>,
    /// 90th percentile of the same.
    pub p90_seconds: Option<f64>,
    /// Consumers per state.
    pub counts: RolloutCounts,
    /// Per cluster, by name.
    pub clusters: Vec<RolloutCluster>,
}

/// A source and its newest revisions.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct RolloutSource {
    /// The source's key (pass as `source`): `Kind|url|ref`, `HelmRepository|url|chart=NAME`, …
    pub source: String,
    /// GitRepository, OCIRepository, HelmRepository or Bucket.
    pub kind: String,
    /// Where it fetches from (a bucket: its endpoint).
    pub url: String,
    /// The ref (`branch=main`, `tag=v1`, …) or the bucket and prefix.
    pub reference: Option<String>,
    /// The chart, for HelmReleases that name one.
    pub chart: Option<String>,
    /// Consumers (matching the filters).
    pub consumers: u32,
    /// Clusters they are on.
    pub clusters: u32,
    /// The newest revision.
    pub latest: Option<String>,
    /// Revisions known (the newest `revisions` are listed).
    pub revisions_total: u32,
    /// Newest first.
    pub revisions: Vec<RolloutRevision>,
}

/// A page of sources, by key.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct RolloutPage {
    /// The sources.
    pub items: Vec<RolloutSource>,
    /// Pass as `continue` for the next page; null on the last.
    #[oai(rename = "continue")]
    pub continue_: Option<String>,
}

#[derive(ApiResponse)]
enum RolloutsResponse {
    /// A page of sources with their rollouts.
    #[oai(status = 200)]
    Ok(Json<RolloutPage>),
}

/// The rollouts endpoint.
pub struct RolloutsApi;

#[OpenApi(prefix_path = "/api/v1/rollouts", tag = "ApiTags::Rollouts")]
impl RolloutsApi {
    /// Rollouts
    ///
    /// Per source (matched across clusters by URL and ref, or Helm repository and chart), its
    /// newest revisions and, for each, which consumers (Kustomizations, HelmReleases) have
    /// applied it (first Ready at it), which are pending, which fail at it, and how long the
    /// applies took. Filters combine with AND, repeated values with OR.
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    #[oai(path = "/", method = "get", operation_id = "listRollouts")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        /// One source, by its `source` key.
        source: Query<Option<String>>,
        /// Only the sources this object consumes or is (a Kustomization's, HelmRelease's or
        /// source object's resource id).
        resource: Query<Option<Uuid>>,
        /// Cluster id or name (repeatable, up to 100).
        #[oai(default)]
        cluster: Query<Vec<String>>,
        /// Cluster-label selector, kubectl's `-l` syntax on cluster labels (repeatable; AND).
        #[oai(default, name = "clusterSelector")]
        cluster_selector: Query<Vec<String>>,
        /// Consumer kind: Kustomization or HelmRelease (repeatable).
        #[oai(default)]
        kind: Query<Vec<String>>,
        /// Consumer namespace (repeatable, up to 100).
        #[oai(default)]
        namespace: Query<Vec<String>>,
        /// Revisions per source, newest first, 1–50 (default 5).
        #[oai(validator(minimum(value = "1"), maximum(value = "50")))]
        revisions: Query<Option<u32>>,
        /// Sources per page, 1–100 (default 20; a Helm repository's charts count once).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// The `continue` value of the previous page.
        #[oai(name = "continue")]
        continue_: Query<Option<String>>,
    ) -> Result<RolloutsResponse, ApiError> {
        params::at_most(&[
            ("cluster", cluster.len()),
            ("kind", kind.len()),
            ("namespace", namespace.len()),
        ])?;
        let filter = RolloutFilter {
            source: source.0.filter(|s| !s.is_empty()),
            resource: resource.0,
            clusters: params::values(cluster.0),
            cluster_ids: timeline::labelled_clusters(&state, "clusterSelector", &cluster_selector)
                .await?,
            kinds: consumer_kinds(&kind)?,
            namespaces: params::values(namespace.0),
            after: after(continue_.0)?,
            limit: limit.0.unwrap_or(DEFAULT_SOURCES) as usize,
        };
        let rows = state.store.rollouts(&filter).await?;
        let revisions = revisions.0.unwrap_or(DEFAULT_REVISIONS) as usize;
        let items = assemble::sources(rows.consumers, rows.applies, revisions);
        let continue_ = rows.next.map(|identity| URL_SAFE_NO_PAD.encode(identity));
        Ok(RolloutsResponse::Ok(Json(RolloutPage { items, continue_ })))
    }
}

/// The consumer kinds asked for; 400 for a kind that consumes no source.
fn consumer_kinds(values: &[String]) -> Result<Vec<String>, ApiError> {
    let kinds = params::kinds(values)?;
    match kinds
        .iter()
        .find(|k| !flux::CONSUMER_KINDS.contains(&k.as_str()))
    {
        Some(k) => Err(bad_param(
            "kind",
            format!(
                "{k} consumes no source; expected {}",
                flux::CONSUMER_KINDS.join(" or ")
            ),
        )),
        None => Ok(kinds),
    }
}

/// The source identity a `continue` token carries (the last of its page).
fn after(token: Option<String>) -> Result<Option<String>, ApiError> {
    token
        .filter(|t| !t.is_empty())
        .map(|t| {
            URL_SAFE_NO_PAD
                .decode(&t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| bad_param("continue", "not a `continue` value of this list"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_consumer_kinds_are_accepted_and_the_error_names_the_parameter() {
        let ok = consumer_kinds(&["ks".into(), "helmrelease".into()]).unwrap();
        assert_eq!(ok, ["Kustomization", "HelmRelease"]);
        for bad in ["GitRepository", "nope"] {
            let ApiError::BadRequest(body) = consumer_kinds(&[bad.into()]).unwrap_err() else {
                panic!("not 400")
            };
            assert!(body.0.message.contains("`kind`"), "{}", body.0.message);
        }
    }

    #[test]
    fn a_continue_token_round_trips_and_garbage_is_refused() {
        let token = URL_SAFE_NO_PAD.encode("GitRepository|https://x|branch=main");
        assert_eq!(
            after(Some(token)).unwrap().as_deref(),
            Some("GitRepository|https://x|branch=main")
        );
        assert_eq!(after(Some(String::new())).unwrap(), None);
        assert!(after(Some("!!".into())).is_err());
    }
}
