//! [`SimCluster`]: start, address, credentials and shutdown of one simulated apiserver.

use std::sync::{Arc, OnceLock};

use anyhow::Context;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::catalog::{Catalog, FluxFlavor};
use super::controller::{self, Notice};
use super::counts::{CountState, RequestCounts};
use super::faults::{FaultState, Faults};
use super::kubeconfig;
use super::objects::Objects;
use super::options::{KubeconfigAuth, SimOptions};
use super::server;
use super::state::Shared;
use super::store::Store;
use super::tls::{ClientIdentity, TlsMaterial};

/// A running simulated apiserver.
pub struct SimCluster {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimCluster {
    /// Bind, generate certificates, create the default namespaces and start serving.
    pub async fn start(opts: SimOptions) -> anyhow::Result<SimCluster> {
        super::tls::ensure_crypto_provider();
        let listener = TcpListener::bind((opts.listen, opts.port))
            .await
            .with_context(|| format!("bind {}:{}", opts.listen, opts.port))?;
        let addr = listener.local_addr().context("local address")?;
        let (shared, ctl_rx) = shared_state(opts)?;
        let _ = shared.addr.set(addr);
        install_flux_namespaces(&Objects {
            shared: shared.clone(),
        })?;
        let mut tasks = vec![tokio::spawn(server::serve(shared.clone(), listener))];
        if let Some(rx) = ctl_rx {
            tasks.push(tokio::spawn(controller::run(shared.clone(), rx)));
        }
        tracing::info!(name = %shared.opts.name, url = %shared.url(), "simulated apiserver started");
        Ok(SimCluster { shared, tasks })
    }

    /// Cluster name.
    pub fn name(&self) -> &str {
        &self.shared.opts.name
    }

    /// Base URL, e.g. `https://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        self.shared.url()
    }

    /// The accepted bearer token.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// CA certificate (PEM), when serving TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.shared.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// A kubeconfig for this cluster with the credentials chosen in [`SimOptions::kubeconfig_auth`].
    pub fn kubeconfig_yaml(&self) -> String {
        self.kubeconfig_yaml_with(self.shared.opts.kubeconfig_auth)
    }

    /// A kubeconfig with explicit credentials.
    pub fn kubeconfig_yaml_with(&self, auth: KubeconfigAuth) -> String {
        kubeconfig::yaml(&self.shared, auth)
    }

    /// A kube client configuration (CA trusted, token auth), for tests.
    pub fn client_config(&self) -> kube::Config {
        kubeconfig::client_config(&self.shared, KubeconfigAuth::Token)
    }

    /// A kube client configuration authenticating with the admin client certificate.
    pub fn client_config_with(&self, auth: KubeconfigAuth) -> kube::Config {
        kubeconfig::client_config(&self.shared, auth)
    }

    /// A kube client for this cluster.
    pub fn client(&self) -> anyhow::Result<kube::Client> {
        kube::Client::try_from(self.client_config()).context("build kube client")
    }

    /// Issue a client certificate for another user, signed by this cluster's CA.
    pub fn issue_client_cert(&self, user: &str) -> anyhow::Result<ClientIdentity> {
        let tls = self
            .shared
            .tls
            .as_ref()
            .context("cluster serves plain HTTP")?;
        tls.issue_client(user, None)
    }

    /// Programmatic access to the objects.
    pub fn objects(&self) -> Objects {
        Objects {
            shared: self.shared.clone(),
        }
    }

    /// Fault switches.
    pub fn faults(&self) -> Faults {
        Faults {
            shared: self.shared.clone(),
        }
    }

    /// Request counters.
    pub fn request_counts(&self) -> RequestCounts {
        RequestCounts {
            shared: self.shared.clone(),
        }
    }

    /// Stop serving and wait for the server and controller tasks.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.cancel();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }

    /// Cancellation token of this cluster (cancelled at shutdown), for tasks tied to it.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shared.shutdown.clone()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        // A cluster dropped without `shutdown()` still stops its tasks.
        self.shared.shutdown.cancel();
    }
}

/// The state of a new cluster (empty store, certificates when it serves TLS, its token), and
/// the receiving end of the built-in controller's queue when it runs one.
fn shared_state(
    opts: SimOptions,
) -> anyhow::Result<(Arc<Shared>, Option<mpsc::UnboundedReceiver<Notice>>)> {
    let catalog = Arc::new(Catalog::new(opts.flavor));
    let store = Store::new(catalog.clone(), opts.history_limit, opts.seed);
    let tls = match opts.tls {
        true => {
            Some(TlsMaterial::generate(&opts.name, opts.listen).context("generate certificates")?)
        }
        false => None,
    };
    let token = opts.token.clone().unwrap_or_else(random_token);
    let (ctl_tx, ctl_rx) = match opts.controller {
        true => {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        }
        false => (None, None),
    };
    let shared = Arc::new(Shared {
        opts,
        catalog,
        store,
        faults: FaultState::default(),
        counts: CountState::default(),
        tls,
        token,
        addr: OnceLock::new(),
        controller: ctl_tx,
        events: Default::default(),
        shutdown: CancellationToken::new(),
    });
    Ok((shared, ctl_rx))
}

/// The namespaces every cluster has, `flux-system` labelled the way `flux install` labels it
/// (consumers read Flux's version from it).
fn install_flux_namespaces(objects: &Objects) -> anyhow::Result<()> {
    for ns in ["default", "kube-system", "flux-system"] {
        objects
            .ensure_namespace(ns)
            .map_err(|e| anyhow::anyhow!("create namespace {ns}: {e}"))?;
    }
    let version = match objects.shared.opts.flavor {
        FluxFlavor::Flux29 | FluxFlavor::Operator => "v2.9.0",
        FluxFlavor::Legacy => "v2.2.3",
    };
    let labels = serde_json::json!({"metadata": {"labels": {
        "app.kubernetes.io/instance": "flux-system",
        "app.kubernetes.io/part-of": "flux",
        "app.kubernetes.io/version": version,
    }}});
    objects
        .patch("Namespace", "", "flux-system", &labels)
        .map_err(|e| anyhow::anyhow!("label namespace flux-system: {e}"))?;
    Ok(())
}

fn random_token() -> String {
    let bytes: [u8; 24] = rand::rng().random();
    format!("sim-{}", hex::encode(bytes))
}
