//! Acting on Flux objects as the `flux` CLI does: merge-patches for reconcile (optionally with
//! its sources), suspend, resume, and HelmRelease force/reset, sent to the object's cluster.
//!
//! A service of its own (outbound patches are not ingest): the API resolves a [`Target`],
//! checks the caller may act on its cluster, and asks [`Actions::perform`], which refuses an
//! unreachable cluster at once, addresses sources at the versions the cluster serves, and logs
//! the outcome of every action.

mod patch;

use std::collections::HashMap;

use uuid::Uuid;

use crate::clusters::Registry;
use crate::flux::{self, Action, ClusterState};
use crate::store::{ClusterRow, ClusterStatusRow, ResourceRow, Store};

/// Why an action failed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The action does not apply to this object (kind, suspended, static, no source).
    #[error("{0}")]
    NotApplicable(#[from] flux::Error),
    /// The object does not exist in the cluster (any more).
    #[error("{0} not found in the cluster")]
    NotFound(String),
    /// The cluster's apiserver refused (RBAC): the orchestrator's credentials lack `patch`.
    /// The text is the status code and its standard reason, never the remote body (logged).
    #[error("the cluster refused the request: {0}")]
    Refused(String),
    /// The cluster could not be reached in time.
    #[error("cluster {0} is unreachable: {1}")]
    Unreachable(String, String),
    /// Building a client failed (credentials).
    #[error(transparent)]
    Registry(#[from] crate::clusters::Error),
    /// No such object in the fleet.
    #[error("resource {0} not found")]
    UnknownResource(Uuid),
    /// Reading the object or its cluster status failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// One action on one object.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    /// API group of the object.
    pub api_group: String,
    /// Version to address it at (the one it was read at).
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// What to do.
    pub action: Action,
    /// Reconcile the sources first (`flux reconcile --with-source`).
    pub with_source: bool,
    /// Why (suspend only; stored as `suspend.toolkit.fluxcd.io/reason`).
    pub reason: Option<String>,
}

/// What was done.
#[derive(Debug, Clone)]
pub struct ActionDone {
    /// The request token (`reconcile.fluxcd.io/requestedAt`); the action is handled when the
    /// controller copies it to `status.lastHandledReconcileAt`.
    pub token: String,
    /// Objects patched, as `Kind/namespace/name`, in order.
    pub patched: Vec<String>,
}

/// The object an action is about, and its cluster.
#[derive(Debug, Clone)]
pub struct Target {
    /// The object's row.
    pub resource: ResourceRow,
    /// Its cluster (check the caller's scope on it before acting).
    pub cluster: ClusterRow,
}

/// The actions service: reads through the store, connects through the registry.
#[derive(Clone)]
pub struct Actions {
    store: Store,
    registry: Registry,
}

impl Actions {
    /// The service over `store` and `registry`.
    pub fn new(store: Store, registry: Registry) -> Actions {
        Actions { store, registry }
    }

    /// The object `id` and its cluster.
    pub async fn target(&self, id: Uuid) -> Result<Target, ActionError> {
        let resource = self
            .store
            .resource_row(id)
            .await?
            .ok_or(ActionError::UnknownResource(id))?;
        let cluster = self.registry.get(&resource.cluster_id.to_string()).await?;
        Ok(Target { resource, cluster })
    }

    /// Perform `action` on `target` (the caller's scope already checked).
    pub async fn perform(
        &self,
        target: &Target,
        action: Action,
        with_source: bool,
        reason: Option<String>,
    ) -> Result<ActionDone, ActionError> {
        let (row, cluster) = (&target.resource, &target.cluster);
        let status = self.store.cluster_status(cluster.id).await?;
        if let Some(s) = status
            .as_ref()
            .filter(|s| s.state == ClusterState::Unreachable)
        {
            return Err(ActionError::Unreachable(
                cluster.name.clone(),
                s.message.clone(),
            ));
        }
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
        let versions = served_versions(status.as_ref());
        let result = patch::perform(&self.registry, cluster, &versions, &request).await;
        let outcome = match &result {
            Ok(_) => "accepted".to_string(),
            Err(e) => e.to_string(),
        };
        tracing::info!(
            action = action.as_str(), cluster = %cluster.name, kind = %row.kind,
            namespace = %row.namespace, name = %row.name, with_source, %outcome, "action"
        );
        result
    }
}

/// Kind → the version the cluster serves it at, from the watch status (sources named without
/// a version are addressed at it).
fn served_versions(status: Option<&ClusterStatusRow>) -> HashMap<String, String> {
    status
        .iter()
        .flat_map(|s| &s.kinds)
        .filter_map(|(kind, watch)| Some((kind.clone(), watch.version.clone()?)))
        .collect()
}
