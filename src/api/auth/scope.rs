//! Cluster-label scopes: a scoped caller sees and acts on the clusters whose labels match its
//! scope, and nothing fleet-wide. Also resolves the cluster and object a request targets, for
//! the audit log.

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

fn outside(what: &str) -> Response {
    ApiError::forbidden(
        "outside_scope",
        format!("{what} is outside the cluster scope of this credential"),
    )
    .into_response()
}

fn failed(e: impl Into<ApiError>) -> Response {
    e.into().into_response()
}

/// The cluster by id or name; `None` if it does not exist (the handler answers 404).
async fn cluster(state: &AppState, key: &str) -> Result<Option<ClusterRow>, Response> {
    match state.registry.get(key).await {
        Ok(row) => Ok(Some(row)),
        Err(clusters::Error::NotFound(_) | clusters::Error::Invalid(_)) => Ok(None),
        Err(e) => Err(failed(e)),
    }
}

/// The cluster of the Flux object `key`, noting the object in the audit entry.
async fn resource_cluster(
    state: &AppState,
    key: &str,
    audit: &Audit,
) -> Result<Option<ClusterRow>, Response> {
    let Ok(id) = key.parse::<Uuid>() else {
        return Ok(None);
    };
    let Some(row) = state.store.resource_row(id).await.map_err(failed)? else {
        return Ok(None);
    };
    audit.object(format!("{}/{}/{}", row.kind, row.namespace, row.name));
    cluster(state, &row.cluster_id.to_string()).await
}

/// Refuse what `principal`'s scope does not cover; narrow scoped lists to the clusters in scope.
pub async fn check(
    state: &AppState,
    req: &mut Request,
    principal: &Principal,
    target: Target,
    param: Option<&str>,
    audit: &Audit,
) -> Result<(), Response> {
    let scope = principal.scope.as_ref();
    let mutating = !req.method().is_safe();
    let row = match (target, param) {
        (Target::Global, _) if scope.is_some() => return Err(outside("a fleet-wide operation")),
        (Target::List, _) if scope.is_some() => return narrow(state, req, principal).await,
        (Target::Cluster, Some(key)) if scope.is_some() || mutating => cluster(state, key).await?,
        (Target::Resource, Some(key)) if scope.is_some() || mutating => {
            resource_cluster(state, key, audit).await?
        }
        _ => None,
    };
    if let Some(row) = row {
        audit.cluster(&row.name);
        if !in_scope(scope, &row.labels) {
            return Err(outside(&format!("cluster {}", row.name)));
        }
    }
    Ok(())
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
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
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
        return Err(outside(&format!("cluster {v}")));
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
