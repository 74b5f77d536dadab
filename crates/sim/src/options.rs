//! [`SimOptions`]: everything that shapes one simulated cluster.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::catalog::FluxFlavor;

/// How the emitted kubeconfig authenticates (the server accepts both at all times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KubeconfigAuth {
    /// `token:` with the cluster's bearer token.
    #[default]
    Token,
    /// `client-certificate-data` / `client-key-data` signed by the cluster CA.
    ClientCert,
}

/// Options of one simulated cluster.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Cluster name: kubeconfig cluster/context/user names, and `SimCluster::name`.
    pub name: String,
    /// Serve HTTPS with a generated CA (default). `false` serves plain HTTP.
    pub tls: bool,
    /// Bearer token accepted by the server; `None` generates a random one.
    pub token: Option<String>,
    /// Which Flux kinds and versions are served.
    pub flavor: FluxFlavor,
    /// Seed for uids, scenarios and churn.
    pub seed: u64,
    /// Period of BOOKMARK events on watches that allow them.
    pub bookmark_interval: Duration,
    /// Watch events retained per resource type for resume; older versions answer 410.
    pub history_limit: usize,
    /// Address to bind.
    pub listen: IpAddr,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// How the built-in controller waits before answering a change (reconcile request, spec
    /// change, suspend/resume).
    pub controller_delay: Duration,
    /// Run the built-in controller at all.
    pub controller: bool,
    /// Answer aggregated-discovery `Accept` headers with `APIGroupDiscoveryList` (kubectl ≥ 1.26
    /// and kube's `Discovery::run_aggregated`). `false` always answers the plain lists.
    pub aggregated_discovery: bool,
    /// Credentials written into [`kubeconfig_yaml`](super::SimCluster::kubeconfig_yaml).
    pub kubeconfig_auth: KubeconfigAuth,
    /// Maximum core/v1 Events kept; the oldest are deleted beyond it.
    pub max_events: usize,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            name: "sim".into(),
            tls: true,
            token: None,
            flavor: FluxFlavor::Flux29,
            seed: 1,
            bookmark_interval: Duration::from_secs(5),
            history_limit: 20_000,
            listen: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            controller_delay: Duration::from_millis(100),
            controller: true,
            aggregated_discovery: true,
            kubeconfig_auth: KubeconfigAuth::Token,
            max_events: 2_000,
        }
    }
}

impl SimOptions {
    /// Defaults with a name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}
