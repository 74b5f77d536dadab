//! `flux-orchestrator sim`: run N simulated clusters until Ctrl-C, write one kubeconfig per
//! cluster, and serve the admin endpoint for faults.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::admin::{self, Managed};
use super::catalog::FluxFlavor;
use super::churn::{ChurnOptions, spawn_churn};
use super::cluster::SimCluster;
use super::options::SimOptions;
use super::scenario::Scenario;

/// Arguments of the `sim` subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Number of simulated clusters (<name-prefix>-1, <name-prefix>-2, ...).
    #[arg(long, default_value_t = 3, env = "FLUXO_SIM_CLUSTERS")]
    pub clusters: usize,
    /// Cluster names are <name-prefix>-1 … <name-prefix>-N (lowercase letters, digits, '-'),
    /// e.g. to run two simulators side by side under one server.
    #[arg(long, default_value = "sim", value_parser = name_prefix, env = "FLUXO_SIM_NAME_PREFIX")]
    pub name_prefix: String,
    /// Flux objects per kind per cluster (spread over the namespaces).
    #[arg(long, default_value_t = 200, env = "FLUXO_SIM_OBJECTS")]
    pub objects: usize,
    /// Workloads per cluster (Deployments, Services, StatefulSets...), spread over the
    /// Kustomizations and HelmReleases and listed in their inventories; 0 for none.
    #[arg(long, default_value_t = 0, env = "FLUXO_SIM_WORKLOADS")]
    pub workloads: usize,
    /// Namespaces per cluster.
    #[arg(long, default_value_t = 4, env = "FLUXO_SIM_NAMESPACES")]
    pub namespaces: usize,
    /// Percentage of objects failing at any moment (created so, and kept so by churn).
    #[arg(long, default_value_t = 5.0, value_parser = percent, env = "FLUXO_SIM_FAILING_PERCENT")]
    pub failing_percent: f64,
    /// Percentage of objects mid-reconciliation (Reconciling) at any moment.
    #[arg(long, default_value_t = 2.0, value_parser = percent, env = "FLUXO_SIM_PROGRESSING_PERCENT")]
    pub progressing_percent: f64,
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
    /// Flux flavor of every cluster, or a comma-separated list per cluster, the last repeating
    /// (flux29 | legacy | operator).
    #[arg(long, default_value = "flux29", env = "FLUXO_SIM_FLAVOR")]
    pub flavor: String,
    /// Random seed (scenarios and churn are deterministic for a seed).
    #[arg(long, default_value_t = 1, env = "FLUXO_SIM_SEED")]
    pub seed: u64,
    /// Fixed bearer token for every cluster (random when unset).
    #[arg(long, env = "FLUXO_SIM_TOKEN")]
    pub token: Option<String>,
}

/// A cluster-name prefix: a DNS label short enough to take `-<n>` (names go into kubeconfigs
/// and are registered as cluster names).
fn name_prefix(s: &str) -> Result<String, String> {
    let label = !s.is_empty()
        && s.len() <= 50
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    label
        .then(|| s.to_string())
        .ok_or_else(|| "lowercase letters, digits and '-', at most 50 characters".to_string())
}

/// A percentage, 0 to 100.
fn percent(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err("a number from 0 to 100".to_string()),
    }
}

impl SimArgs {
    /// Name of cluster `i` (0-based).
    pub fn cluster_name(&self, i: usize) -> String {
        format!("{}-{}", self.name_prefix, i + 1)
    }

    /// The churn of cluster `i`: the configured rate and mix.
    fn churn_options(&self, seed: u64) -> ChurnOptions {
        ChurnOptions {
            rate: self.churn,
            seed,
            failure_ratio: self.failing_percent / 100.0,
            progressing_ratio: self.progressing_percent / 100.0,
            ..ChurnOptions::default()
        }
    }

    /// Flavor of cluster `i` (0-based).
    pub fn flavor_of(&self, i: usize) -> anyhow::Result<FluxFlavor> {
        let parts: Vec<&str> = self.flavor.split(',').map(str::trim).collect();
        let s = parts.get(i).or(parts.last()).copied().unwrap_or("flux29");
        s.parse().map_err(anyhow::Error::msg)
    }
}

/// Run the simulator until Ctrl-C.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    if args.failing_percent + args.progressing_percent > 100.0 {
        anyhow::bail!("--failing-percent and --progressing-percent add up to more than 100");
    }
    std::fs::create_dir_all(&args.kubeconfig_dir)
        .with_context(|| format!("create {}", args.kubeconfig_dir.display()))?;
    let mut clusters = Vec::new();
    for i in 0..args.clusters {
        clusters.push(start_one(&args, i).await?);
    }
    let clusters = Arc::new(clusters);
    let listener = TcpListener::bind((args.listen, args.admin_port))
        .await
        .context("bind admin endpoint")?;
    let admin_url = format!("http://{}", listener.local_addr().context("admin address")?);
    std::fs::write(args.kubeconfig_dir.join("admin-url"), &admin_url).context("write admin-url")?;
    let shutdown = CancellationToken::new();
    let admin_task = tokio::spawn(admin::serve(listener, clusters.clone(), shutdown.clone()));
    println!(
        "admin endpoint: {admin_url}  (GET /clusters, POST /clusters/{{name|all}}/faults/...)"
    );
    tokio::signal::ctrl_c().await.context("wait for Ctrl-C")?;
    shutdown.cancel();
    let _ = admin_task.await;
    let clusters = Arc::try_unwrap(clusters)
        .map_err(|_| anyhow::anyhow!("admin endpoint still holds the clusters"))?;
    for m in clusters {
        if let Some(c) = m.churn.into_inner().ok().flatten() {
            c.stop().await;
        }
        m.cluster.shutdown().await;
    }
    Ok(())
}

async fn start_one(args: &SimArgs, i: usize) -> anyhow::Result<Managed> {
    let name = args.cluster_name(i);
    let port = if args.base_port == 0 {
        0
    } else {
        args.base_port + i as u16
    };
    let seed = args.seed.wrapping_add(i as u64);
    let opts = SimOptions {
        tls: !args.plain_http,
        token: args.token.clone(),
        flavor: args.flavor_of(i)?,
        seed,
        listen: args.listen,
        port,
        ..SimOptions::named(&name)
    };
    let cluster = SimCluster::start(opts)
        .await
        .with_context(|| format!("start {name}"))?;
    let scenario = Scenario {
        namespaces: args.namespaces,
        objects_per_kind: args.objects,
        seed,
        failure_ratio: args.failing_percent / 100.0,
        progressing_ratio: args.progressing_percent / 100.0,
        workloads: args.workloads,
        ..Scenario::default()
    };
    let report = scenario
        .populate(&cluster)
        .map_err(|e| anyhow::anyhow!("populate {name}: {e}"))?;
    let path = args.kubeconfig_dir.join(format!("{name}.yaml"));
    std::fs::write(&path, cluster.kubeconfig_yaml())
        .with_context(|| format!("write {}", path.display()))?;
    let churn_options = args.churn_options(seed);
    let churn = (args.churn > 0.0).then(|| spawn_churn(&cluster, churn_options.clone()));
    println!(
        "{name}: {} ({} objects, {} failing, {} workloads), kubeconfig {}",
        cluster.url(),
        report.objects,
        report.failing,
        report.workloads,
        path.display()
    );
    Ok(Managed {
        cluster,
        kubeconfig: path.display().to_string(),
        churn: std::sync::Mutex::new(churn),
        churn_options,
    })
}
