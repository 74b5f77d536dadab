//! Cluster-label scopes: a scoped caller sees and acts on the clusters whose labels match its
//! scope, and nothing fleet-wide. Also resolves the cluster and object a request targets, for
//! the audit log.
//!
//! Two layers, both failing closed:
//! - the guard resolves the target of `{id}` — decoded exactly as the router decodes it — and
//!   denies a scoped caller whose target cannot be resolved (unknown, malformed, deleted);
//! - handlers check the row they actually load with [`permit`], so the check and the use
//!   cannot disagree whatever the path looked like.

use poem::http::Uri;
use poem::{IntoResponse, Request, Response};
use uuid::Uuid;

use super::audit::Audit;
use super::policy::Target;
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::auth::{Principal, in_scope};
use crate::clusters;
use crate::store::ClusterRow;

fn outside(what: &str) -> ApiError {
    ApiError::forbidden(
        "outside_scope",
        format!("{what} is outside the cluster scope of this credential"),
    )
}

/// What a scoped caller gets for a target that cannot be resolved: the same answer as for a
/// target that does not exist, so probing reveals nothing.
fn unresolved(key: &str) -> ApiError {
    ApiError::not_found(format!("{key:?} not found"))
}

fn failed(e: impl Into<ApiError>) -> Response {
    e.into().into_response()
}

/// Refuse `cluster` unless `principal`'s scope covers it. Handlers call this on the row they
/// loaded, after the guard's own check, so a path the guard resolved differently can never
/// reach a cluster outside the scope.
pub fn permit(principal: &Principal, cluster: &ClusterRow) -> Result<(), ApiError> {
    if in_scope(principal.scope.as_ref(), &cluster.labels) {
        Ok(())
    } else {
        Err(outside(&format!("cluster {}", cluster.name)))
    }
}

/// The cluster by id or name; `None` if it does not exist or the key is not a valid one.
async fn cluster(state: &AppState, key: &str) -> Result<Option<ClusterRow>, Response> {
    match state.registry.get(key).await {
        Ok(row) => Ok(Some(row)),
        Err(clusters::Error::NotFound(_) | clusters::Error::Invalid(_)) => Ok(None),
        Err(e) => Err(failed(e)),
    }
}

/// The cluster of the Flux object `key` — also of one that was deleted but left history —
/// noting the object in the audit entry.
async fn resource_cluster(
    state: &AppState,
    key: &str,
    audit: &Audit,
) -> Result<Option<ClusterRow>, Response> {
    let Ok(id) = key.parse::<Uuid>() else {
        return Ok(None);
    };
    if let Some(row) = state.store.resource_row(id).await.map_err(failed)? {
        audit.object(format!("{}/{}/{}", row.kind, row.namespace, row.name));
    }
    let Some(cluster_id) = state.store.resource_cluster(id).await.map_err(failed)? else {
        return Ok(None);
    };
    cluster(state, &cluster_id.to_string()).await
}

/// Refuse what `principal`'s scope does not cover; narrow scoped lists to the clusters in
/// scope. `param` is the decoded `{id}` (None when the router would not decode it either).
pub async fn check(
    state: &AppState,
    req: &mut Request,
    principal: &Principal,
    target: Target,
    param: Option<&str>,
    audit: &Audit,
) -> Result<(), Response> {
    let scoped = principal.scope.is_some();
    let mutating = !req.method().is_safe();
    let (row, key) = match (target, param) {
        (Target::Global, _) if scoped => {
            return Err(outside("a fleet-wide operation").into_response());
        }
        (Target::List, _) if scoped => return narrow(state, req, principal).await,
        (Target::Cluster, Some(key)) if scoped || mutating => (cluster(state, key).await?, key),
        (Target::Resource, Some(key)) if scoped || mutating => {
            (resource_cluster(state, key, audit).await?, key)
        }
        // A target the router would not decode: the handler refuses it; a scoped caller is
        // refused here already.
        (Target::Cluster | Target::Resource, None) if scoped => {
            return Err(unresolved("").into_response());
        }
        _ => return Ok(()),
    };
    match row {
        Some(row) => {
            audit.cluster(&row.name);
            permit(principal, &row).map_err(IntoResponse::into_response)
        }
        None if scoped => Err(unresolved(key).into_response()),
        None => Ok(()),
    }
}

/// Limit a list's `cluster` filter to the clusters in scope: named clusters must all be in
/// scope; without a filter, the list gets one naming every cluster in scope (or none at all).
async fn narrow(
    state: &AppState,
    req: &mut Request,
    principal: &Principal,
) -> Result<(), Response> {
    let allowed: Vec<ClusterRow> = state
        .registry
        .list()
        .await
        .map_err(failed)?
        .into_iter()
        .filter(|c| in_scope(principal.scope.as_ref(), &c.labels))
        .collect();
    let query = req.uri().query().unwrap_or("");
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|_| {
        failed(ApiError::bad_request(
            "bad_request",
            "the query string is not valid URL encoding",
        ))
    })?;
    let named: Vec<&String> = pairs
        .iter()
        .filter(|(k, _)| k == "cluster")
        .map(|(_, v)| v)
        .collect();
    if let Some(v) = named.iter().find(|v| {
        !allowed
            .iter()
            .any(|c| c.name == v.trim() || c.id.to_string() == v.trim())
    }) {
        return Err(outside(&format!("cluster {v}")).into_response());
    }
    if named.is_empty() {
        let ids = allowed.iter().map(|c| c.id).collect::<Vec<_>>();
        let ids = if ids.is_empty() {
            vec![Uuid::nil()]
        } else {
            ids
        };
        pairs.extend(
            ids.into_iter()
                .map(|id| ("cluster".to_string(), id.to_string())),
        );
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let uri = format!("{}?{query}", req.uri().path());
    *req.uri_mut() = uri
        .parse::<Uri>()
        .map_err(|_| failed(ApiError::bad_request("bad_request", "invalid query")))?;
    Ok(())
}
