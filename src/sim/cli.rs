//! `flux-orchestrator sim`: run N simulated clusters until Ctrl-C, write one kubeconfig per
//! cluster, and serve the admin endpoint for faults.

use std::net::IpAddr;
use std::path::PathBuf;

use super::catalog::FluxFlavor;

/// Arguments of the `sim` subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Number of simulated clusters (sim-1, sim-2, ...).
    #[arg(long, default_value_t = 3, env = "FLUXO_SIM_CLUSTERS")]
    pub clusters: usize,
    /// Flux objects per kind per namespace.
    #[arg(long, default_value_t = 200, env = "FLUXO_SIM_OBJECTS")]
    pub objects: usize,
    /// Namespaces per cluster.
    #[arg(long, default_value_t = 4, env = "FLUXO_SIM_NAMESPACES")]
    pub namespaces: usize,
    /// Status changes per second per cluster (0 disables churn).
    #[arg(long, default_value_t = 2.0, env = "FLUXO_SIM_CHURN")]
    pub churn: f64,
    /// Directory to write `<cluster>.yaml` kubeconfigs into.
    #[arg(
        long,
        default_value = "sim-kubeconfigs",
        env = "FLUXO_SIM_KUBECONFIG_DIR"
    )]
    pub kubeconfig_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "FLUXO_SIM_LISTEN")]
    pub listen: IpAddr,
    /// First port (cluster i listens on base-port + i - 1); 0 picks free ports.
    #[arg(long, default_value_t = 0, env = "FLUXO_SIM_BASE_PORT")]
    pub base_port: u16,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long, env = "FLUXO_SIM_PLAIN_HTTP")]
    pub plain_http: bool,
    /// Admin endpoint port (faults, counts); 0 picks a free port.
    #[arg(long, default_value_t = 0, env = "FLUXO_SIM_ADMIN_PORT")]
    pub admin_port: u16,
    /// Flux flavor of every cluster, or a comma-separated list per cluster (flux29 | legacy).
    #[arg(long, default_value = "flux29", env = "FLUXO_SIM_FLAVOR")]
    pub flavor: String,
    /// Random seed (scenarios and churn are deterministic for a seed).
    #[arg(long, default_value_t = 1, env = "FLUXO_SIM_SEED")]
    pub seed: u64,
    /// Fixed bearer token for every cluster (random when unset).
    #[arg(long, env = "FLUXO_SIM_TOKEN")]
    pub token: Option<String>,
}

impl SimArgs {
    /// Flavor of cluster `i` (0-based).
    pub fn flavor_of(&self, i: usize) -> anyhow::Result<FluxFlavor> {
        let parts: Vec<&str> = self.flavor.split(',').map(str::trim).collect();
        let s = parts.get(i).or(parts.last()).copied().unwrap_or("flux29");
        s.parse().map_err(anyhow::Error::msg)
    }
}

/// Run the simulator until Ctrl-C.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "sim is not implemented yet ({} clusters requested)",
        args.clusters
    )
}
