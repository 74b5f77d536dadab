//! Which Flux kinds a cluster serves, at which version, and which Kubernetes and Flux versions
//! it runs. Never a hard-coded version: clusters run different Flux releases.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, ListParams};
use kube::{Client, Discovery};

use crate::flux::{self, FLUX_GROUPS, FLUX_KINDS, FluxKind};

/// What discovery found.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// Served Flux kinds with the resource at the chosen version.
    pub kinds: Vec<(&'static FluxKind, ApiResource)>,
    /// Flux kinds the cluster does not serve (CRD not installed, or only unknown versions).
    pub absent: Vec<&'static FluxKind>,
    /// The apiserver's `gitVersion`.
    pub kubernetes_version: String,
    /// Flux's version from the `app.kubernetes.io/version` label of its namespace, if readable.
    pub flux_version: Option<String>,
}

impl Discovered {
    /// The served kinds as (kind, version) pairs, to notice when discovery changes.
    pub fn fingerprint(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<_> = self
            .kinds
            .iter()
            .map(|(k, r)| (k.kind, r.version.clone()))
            .collect();
        out.sort();
        out
    }
}

/// Discover Flux kinds and versions on `client`'s cluster.
pub async fn discover(client: &Client) -> kube::Result<Discovered> {
    let version = client.apiserver_version().await?;
    let discovery = Discovery::new(client.clone())
        .filter(FLUX_GROUPS)
        .run()
        .await?;
    let mut kinds = Vec::new();
    let mut absent = Vec::new();
    for kind in FLUX_KINDS {
        match resource_for(&discovery, kind) {
            Some(resource) => kinds.push((kind, resource)),
            None => absent.push(kind),
        }
    }
    Ok(Discovered {
        kinds,
        absent,
        kubernetes_version: version.git_version,
        flux_version: flux_version(client).await,
    })
}

fn resource_for(discovery: &Discovery, kind: &'static FluxKind) -> Option<ApiResource> {
    let group = discovery.get(kind.group)?;
    let served: Vec<&str> = group
        .versions()
        .filter(|v| {
            group
                .versioned_resources(v)
                .iter()
                .any(|(r, _)| r.kind == kind.kind)
        })
        .collect();
    let version = flux::pick_version(kind, &served)?;
    group
        .versioned_resources(version)
        .into_iter()
        .find(|(r, _)| r.kind == kind.kind)
        .map(|(r, _)| r)
}

/// `flux install` labels its namespace `app.kubernetes.io/part-of=flux` with the version.
async fn flux_version(client: &Client) -> Option<String> {
    let api: Api<Namespace> = Api::all(client.clone());
    let params = ListParams::default()
        .labels("app.kubernetes.io/part-of=flux")
        .limit(5);
    let list = api.list(&params).await.ok()?;
    list.items.iter().find_map(|ns| {
        ns.metadata
            .labels
            .as_ref()?
            .get("app.kubernetes.io/version")
            .cloned()
    })
}

/// The resource of a workload kind: built into every supported Kubernetes release at this
/// version, so not discovered.
pub fn workload_resource(kind: &flux::WorkloadKind) -> ApiResource {
    ApiResource {
        group: kind.group.to_string(),
        version: kind.version.to_string(),
        api_version: kind.api_version(),
        kind: kind.kind.to_string(),
        plural: kind.plural.to_string(),
    }
}

/// The core/v1 Event resource (for the events watcher).
pub fn events_resource() -> ApiResource {
    ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: "Event".into(),
        plural: "events".into(),
    }
}
