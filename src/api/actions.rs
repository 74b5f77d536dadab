//! `POST /api/v1/resources/{id}/{action}`: reconcile, suspend, resume, force, reset — the
//! merge-patches the `flux` CLI sends, performed on the object's cluster.

use std::collections::HashMap;
use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::auth::{Audit, permit};
use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::auth::Principal;
use crate::flux::{Action, ClusterState};
use crate::ingest::actions::{ActionRequest, perform};

/// Suspend options.
#[derive(Object, Debug, Default)]
#[oai(deny_unknown_fields)]
pub struct SuspendRequest {
    /// Why it is suspended; stored on the object as `suspend.toolkit.fluxcd.io/reason`
    /// (as `flux suspend --reason` does) and shown as its message.
    pub reason: Option<String>,
}

/// What an action did.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct ActionAccepted {
    /// The resource acted on.
    pub resource_id: Uuid,
    /// `reconcile`, `suspend`, `resume`, `force` or `reset`.
    pub action: String,
    /// The request token. The controller has handled the request when the resource's
    /// `lastHandledReconcileAt` equals it (suspend: when `suspended` is true).
    pub token: String,
    /// Objects patched, as `Kind/namespace/name`, sources first.
    pub patched: Vec<String>,
}

#[derive(ApiResponse)]
enum ActionResponse {
    /// Patched; the controller acts on it asynchronously (watch the resource or the stream).
    #[oai(status = 202)]
    Accepted(Json<ActionAccepted>),
}

/// Longest suspend reason accepted.
const MAX_REASON: usize = 512;

/// Action endpoints.
pub struct ActionsApi;

#[OpenApi(prefix_path = "/api/v1/resources", tag = "ApiTags::Actions")]
impl ActionsApi {
    /// Reconcile now
    ///
    /// Sets `reconcile.fluxcd.io/requestedAt`, as `flux reconcile` does; with `withSource`,
    /// the source (and for chart-template HelmReleases, the generated HelmChart) first.
    #[oai(
        path = "/:id/reconcile",
        method = "post",
        operation_id = "reconcileResource"
    )]
    async fn reconcile(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
        #[oai(name = "withSource")] with_source: Query<Option<bool>>,
    ) -> Result<ActionResponse, ApiError> {
        act(
            &state,
            &principal,
            id.0,
            Action::Reconcile,
            with_source.0.unwrap_or(false),
            None,
        )
        .await
    }

    /// Suspend reconciliation
    #[oai(
        path = "/:id/suspend",
        method = "post",
        operation_id = "suspendResource"
    )]
    async fn suspend(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        audit: Data<&Audit>,
        id: Path<Uuid>,
        body: Json<SuspendRequest>,
    ) -> Result<ActionResponse, ApiError> {
        let reason = body
            .0
            .reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REASON)
        {
            return Err(ApiError::bad_request(
                "invalid",
                format!("reason is longer than {MAX_REASON} characters"),
            ));
        }
        audit.reason(reason.as_deref());
        act(&state, &principal, id.0, Action::Suspend, false, reason).await
    }

    /// Resume reconciliation
    #[oai(path = "/:id/resume", method = "post", operation_id = "resumeResource")]
    async fn resume(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
    ) -> Result<ActionResponse, ApiError> {
        act(&state, &principal, id.0, Action::Resume, false, None).await
    }

    /// Force a HelmRelease install/upgrade
    #[oai(path = "/:id/force", method = "post", operation_id = "forceResource")]
    async fn force(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
    ) -> Result<ActionResponse, ApiError> {
        act(&state, &principal, id.0, Action::Force, false, None).await
    }

    /// Reset a HelmRelease's failure counters
    #[oai(path = "/:id/reset", method = "post", operation_id = "resetResource")]
    async fn reset(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
    ) -> Result<ActionResponse, ApiError> {
        act(&state, &principal, id.0, Action::Reset, false, None).await
    }
}

async fn act(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: Action,
    with_source: bool,
    reason: Option<String>,
) -> Result<ActionResponse, ApiError> {
    let row = state
        .store
        .resource_row(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("resource {id} not found")))?;
    let cluster = state.registry.get(&row.cluster_id.to_string()).await?;
    // The row acted on is checked, not only the path the guard saw.
    permit(principal, &cluster)?;
    let status = state.store.cluster_status(cluster.id).await?;
    if let Some(s) = status
        .as_ref()
        .filter(|s| s.state == ClusterState::Unreachable)
    {
        return Err(ApiError::unavailable(
            "cluster_unreachable",
            format!("cluster {} is unreachable: {}", cluster.name, s.message),
        ));
    }
    let versions: HashMap<String, String> = status
        .iter()
        .flat_map(|s| &s.kinds)
        .filter_map(|(kind, w)| Some((kind.clone(), w.version.clone()?)))
        .collect();
    let request = ActionRequest {
        api_group: row.api_group.clone(),
        api_version: row.api_version.clone(),
        kind: row.kind.clone(),
        namespace: row.namespace.clone(),
        name: row.name.clone(),
        action,
        with_source,
        reason,
    };
    let result = perform(&state.registry, &cluster, &versions, &request).await;
    let outcome = match &result {
        Ok(_) => "accepted".to_string(),
        Err(e) => e.to_string(),
    };
    tracing::info!(
        action = action.as_str(), cluster = %cluster.name, kind = %row.kind, namespace = %row.namespace,
        name = %row.name, with_source, %outcome, "action"
    );
    let done = result?;
    Ok(ActionResponse::Accepted(Json(ActionAccepted {
        resource_id: id,
        action: action.as_str().to_string(),
        token: done.token,
        patched: done.patched,
    })))
}
