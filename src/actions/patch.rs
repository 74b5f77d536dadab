//! The outbound half of an action: fetch the object from its cluster, check the action applies,
//! and send the merge-patches (sources first with `--with-source`). The result shows up through
//! the watch like any other change.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::Value;

use crate::clusters::{self, Registry, failure};
use crate::flux::{self, Action, SourceRef};
use crate::store::ClusterRow;

use super::{ActionDone, ActionError, ActionRequest};

/// Perform `req` on `cluster`. `versions` maps kind → served version (from cluster status),
/// used to address source objects.
pub(super) async fn perform(
    registry: &Registry,
    cluster: &ClusterRow,
    versions: &HashMap<String, String>,
    req: &ActionRequest,
) -> Result<ActionDone, ActionError> {
    let client = registry
        .client(cluster, Duration::from_secs(3), Duration::from_secs(10))
        .await
        .map_err(|e| match e {
            clusters::Error::Client(name, message) => ActionError::Unreachable(name, message),
            other => ActionError::Registry(other),
        })?;
    let api = api_for(
        &client,
        &req.api_group,
        &req.api_version,
        &req.kind,
        &req.namespace,
    )
    .await
    .ok_or_else(|| flux::Error::NotFluxKind {
        group: req.api_group.clone(),
        kind: req.kind.clone(),
    })?;
    let label = format!("{}/{}/{}", req.kind, req.namespace, req.name);
    let object = api
        .get(&req.name)
        .await
        .map_err(|e| kube_error(cluster, &label, e))?;
    let value = serde_json::to_value(&object).unwrap_or(Value::Null);
    let value = with_type(value, &req.api_group, &req.api_version, &req.kind);
    flux::check(&value, req.action)?;
    let token = flux::go_rfc3339_nano(Utc::now());
    let mut patched = Vec::new();
    if req.with_source && req.action == Action::Reconcile {
        let plan = flux::reconcile_with_source(&value, &token)?;
        for source in &plan.sources {
            patch_source(&client, cluster, versions, source, &plan.source_patch).await?;
            patched.push(format!(
                "{}/{}/{}",
                source.kind, source.namespace, source.name
            ));
        }
    }
    let patch = flux::patch(req.action, &token, req.reason.as_deref());
    api.patch(&req.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| kube_error(cluster, &label, e))?;
    patched.push(label);
    Ok(ActionDone { token, patched })
}

async fn patch_source(
    client: &Client,
    cluster: &ClusterRow,
    versions: &HashMap<String, String>,
    source: &SourceRef,
    patch: &Value,
) -> Result<(), ActionError> {
    let kind = flux::by_kind(&source.kind).ok_or_else(|| flux::Error::NotFluxKind {
        group: String::new(),
        kind: source.kind.clone(),
    })?;
    let version = source
        .api_version
        .as_deref()
        .map(|v| flux::version_of(v).to_string())
        .or_else(|| versions.get(kind.kind).cloned())
        .unwrap_or_else(|| kind.latest_version().to_string());
    let api = api_for(client, kind.group, &version, kind.kind, &source.namespace)
        .await
        .ok_or_else(|| flux::Error::NotFluxKind {
            group: kind.group.into(),
            kind: kind.kind.into(),
        })?;
    let label = format!("{}/{}/{}", source.kind, source.namespace, source.name);
    api.patch(&source.name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| kube_error(cluster, &label, e))?;
    Ok(())
}

/// The API of a Flux kind on the cluster. A kind this replica only learnt from stored objects
/// (another replica discovered it) is looked up in the cluster's discovery first: its plural
/// was a guess.
async fn api_for(
    client: &Client,
    group: &str,
    version: &str,
    kind: &str,
    namespace: &str,
) -> Option<Api<DynamicObject>> {
    let mut flux_kind = flux::by_group_kind(group, kind)?;
    if !flux_kind.verified {
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        let (found, caps) = kube::discovery::pinned_kind(client, &gvk).await.ok()?;
        flux_kind = flux::register(&flux::Served {
            group: found.group,
            kind: found.kind,
            plural: found.plural,
            namespaced: caps.scope == kube::discovery::Scope::Namespaced,
            version: found.version,
            short: None,
        });
    }
    let resource = ApiResource {
        group: group.to_string(),
        version: version.to_string(),
        api_version: format!("{group}/{version}"),
        kind: flux_kind.kind.to_string(),
        plural: flux_kind.plural.to_string(),
    };
    Some(Api::namespaced_with(client.clone(), namespace, &resource))
}

fn with_type(mut value: Value, group: &str, version: &str, kind: &str) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| format!("{group}/{version}").into());
        map.entry("kind").or_insert_with(|| kind.into());
    }
    value
}

/// The error an operator reads carries no remote text (see `clusters::failure`); the full
/// answer, e.g. the RBAC rule that is missing, goes to the log.
fn kube_error(cluster: &ClusterRow, label: &str, e: kube::Error) -> ActionError {
    let failure = failure::of_kube(&e);
    match e {
        kube::Error::Api(s) if s.code == 404 => ActionError::NotFound(label.to_string()),
        kube::Error::Api(_) => {
            tracing::info!(cluster = %cluster.name, object = label, detail = %failure.detail, "the cluster refused an action");
            ActionError::Refused(failure.summary)
        }
        _ => {
            tracing::info!(cluster = %cluster.name, object = label, detail = %failure.detail, "action: cluster unreachable");
            ActionError::Unreachable(cluster.name.clone(), failure.summary)
        }
    }
}
