//! The cluster registry's rules: kubeconfig policy, credential encryption, validation, the
//! outbound address policy at registration, and building `kube` clients from stored
//! credentials (the one way, in `client`). SQL lives in `store`.

mod client;
pub mod crypto;
pub mod failure;
pub mod kubeconfig;
pub mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use uuid::Uuid;

pub use crypto::{CryptoError, SecretKey};
pub use failure::Failure;
pub use kubeconfig::KubeconfigError;

use crate::egress::{self, Policy};

use crate::store::{self, ClusterRow, ClusterUpdate, Connection, NewCluster, Store};

/// Name under which `serve --in-cluster` registers the local cluster.
pub const IN_CLUSTER_NAME: &str = "in-cluster";

/// Errors of registry operations, each mapping to one HTTP status in `api::error`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field failed validation.
    #[error("{0}")]
    Invalid(String),
    /// The kubeconfig was refused by policy or could not be parsed.
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    /// The server's address is refused by the outbound address policy.
    #[error("server {server}: {refused}")]
    Egress {
        /// The server URL (never with credentials: those are refused first).
        server: String,
        /// Which address, and why.
        #[source]
        refused: egress::Refused,
    },
    /// No such cluster.
    #[error("cluster {0:?} not found")]
    NotFound(String),
    /// Stored credentials could not be decrypted.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Building a client from stored credentials failed.
    #[error("cannot build a client for cluster {0}: {1}")]
    Client(String, String),
    /// The database failed (or a unique name was taken: see [`store::Error::Conflict`]).
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Result type of the registry.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A cluster to register.
#[derive(Debug, Clone, Default)]
pub struct NewClusterInput {
    /// DNS-1123 label, unique.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Labels, e.g. `team=payments`.
    pub labels: Option<BTreeMap<String, String>>,
    /// Kubeconfig YAML text.
    pub kubeconfig: String,
    /// Context to use; default: current-context.
    pub context: Option<String>,
    /// Allow `insecure-skip-tls-verify` and plain `http://`.
    pub allow_insecure: bool,
}

/// A partial update.
#[derive(Debug, Clone, Default)]
pub struct ClusterChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New labels (replace all).
    pub labels: Option<BTreeMap<String, String>>,
    /// New kubeconfig YAML text.
    pub kubeconfig: Option<String>,
    /// Context of the new kubeconfig.
    pub context: Option<String>,
    /// Allow insecure settings in the new kubeconfig.
    pub allow_insecure: bool,
    /// Watch workloads (true) or opt out (false).
    pub watch_workloads: Option<bool>,
}

/// How long registration waits for DNS before accepting a name it cannot check yet (the
/// connect-time check still applies).
const REGISTRATION_LOOKUP: Duration = Duration::from_secs(3);

/// Registry operations over the store, sealing credentials with the key.
#[derive(Clone)]
pub struct Registry {
    store: Store,
    key: SecretKey,
    /// Which addresses clusters may have; checked at registration and on every connect.
    egress: Arc<Policy>,
}

impl Registry {
    /// A registry over `store` that seals credentials with `key` and lets clusters be reached
    /// only where `egress` allows.
    pub fn new(store: Store, key: SecretKey, egress: Arc<Policy>) -> Registry {
        Registry { store, key, egress }
    }

    /// Register a cluster from a kubeconfig.
    pub async fn create(&self, input: NewClusterInput) -> Result<ClusterRow> {
        validate::name(&input.name).map_err(Error::Invalid)?;
        let description = input.description.unwrap_or_default();
        validate::description(&description).map_err(Error::Invalid)?;
        let labels = input.labels.unwrap_or_default();
        validate::labels(&labels).map_err(Error::Invalid)?;
        let id = Uuid::new_v4();
        let connection = self
            .connection(
                id,
                &input.kubeconfig,
                input.context.as_deref(),
                input.allow_insecure,
            )
            .await?;
        let row = NewCluster {
            id,
            name: input.name,
            description,
            source: "kubeconfig".into(),
            server_url: connection.server_url,
            context: connection.context,
            insecure: connection.insecure,
            credentials: connection.credentials,
            labels: labels_json(&labels),
        };
        Ok(self.store.insert_cluster(&row).await?)
    }

    /// Every cluster, by name.
    pub async fn list(&self) -> Result<Vec<ClusterRow>> {
        Ok(self.store.list_clusters().await?)
    }

    /// One cluster by id or name.
    pub async fn get(&self, id_or_name: &str) -> Result<ClusterRow> {
        let row = match Uuid::parse_str(id_or_name) {
            Ok(id) => self.store.get_cluster(id).await?,
            Err(_) => self.store.get_cluster_by_name(id_or_name).await?,
        };
        row.ok_or_else(|| Error::NotFound(id_or_name.to_string()))
    }

    /// Change a cluster's name, description, labels, kubeconfig or workload opt-out.
    pub async fn update(&self, id_or_name: &str, changes: ClusterChanges) -> Result<ClusterRow> {
        let current = self.get(id_or_name).await?;
        if let Some(name) = &changes.name {
            validate::name(name).map_err(Error::Invalid)?;
        }
        if let Some(description) = &changes.description {
            validate::description(description).map_err(Error::Invalid)?;
        }
        if let Some(labels) = &changes.labels {
            validate::labels(labels).map_err(Error::Invalid)?;
        }
        if changes.kubeconfig.is_some() && current.source == "in-cluster" {
            return Err(Error::Invalid(
                "the in-cluster cluster has no kubeconfig to replace".into(),
            ));
        }
        if changes.context.is_some() && changes.kubeconfig.is_none() {
            return Err(Error::Invalid(
                "context can only be changed together with kubeconfig".into(),
            ));
        }
        let connection = match &changes.kubeconfig {
            Some(text) => Some(
                self.connection(
                    current.id,
                    text,
                    changes.context.as_deref(),
                    changes.allow_insecure,
                )
                .await?,
            ),
            None => None,
        };
        let update = ClusterUpdate {
            name: changes.name,
            description: changes.description,
            labels: changes.labels.as_ref().map(labels_json),
            connection,
            watch_workloads: changes.watch_workloads,
        };
        self.store
            .update_cluster(current.id, &update)
            .await?
            .ok_or_else(|| Error::NotFound(id_or_name.to_string()))
    }

    /// Remove a cluster.
    pub async fn delete(&self, id_or_name: &str) -> Result<ClusterRow> {
        let current = self.get(id_or_name).await?;
        if !self.store.delete_cluster(current.id).await? {
            return Err(Error::NotFound(id_or_name.to_string()));
        }
        Ok(current)
    }

    /// Register the cluster this process runs in, once (`serve --in-cluster`).
    pub async fn ensure_in_cluster(&self) -> Result<()> {
        if self
            .store
            .get_cluster_by_name(IN_CLUSTER_NAME)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let config = kube::Config::incluster()
            .map_err(|e| Error::Client(IN_CLUSTER_NAME.into(), e.to_string()))?;
        let id = Uuid::new_v4();
        let row = NewCluster {
            id,
            name: IN_CLUSTER_NAME.into(),
            description: "The cluster the orchestrator runs in (service account)".into(),
            source: "in-cluster".into(),
            server_url: config.cluster_url.to_string(),
            context: String::new(),
            insecure: false,
            // The service-account token rotates, so it is read from the pod at connect time.
            credentials: self.key.seal(id, b""),
            labels: serde_json::json!({}),
        };
        match self.store.insert_cluster(&row).await {
            Ok(_) | Err(store::Error::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A client for the stored cluster, with connect and read timeouts (kube's default has no
    /// read timeout, so a hung apiserver would stall a LIST forever). The only way clients for
    /// clusters are built: every connection obeys the outbound address policy, checked on the
    /// resolved address, so a name whose DNS answer changed since registration is still refused.
    pub async fn client(
        &self,
        row: &ClusterRow,
        connect_timeout: Duration,
        read_timeout: Duration,
    ) -> Result<kube::Client> {
        let mut config = self.kube_config(row).await?;
        config.connect_timeout = Some(connect_timeout);
        config.read_timeout = Some(read_timeout);
        client::build(config, self.egress.clone()).map_err(|e| Error::Client(row.name.clone(), e))
    }

    async fn kube_config(&self, row: &ClusterRow) -> Result<kube::Config> {
        let config = if row.source == "in-cluster" {
            kube::Config::incluster().map_err(|e| Error::Client(row.name.clone(), e.to_string()))?
        } else {
            let sealed = self
                .store
                .cluster_credentials(row.id)
                .await?
                .ok_or_else(|| Error::NotFound(row.name.clone()))?;
            let plain = self.key.open(row.id, &sealed)?;
            let kubeconfig: Kubeconfig =
                serde_json::from_slice(&plain).map_err(|_| Error::Crypto(CryptoError::Open))?;
            let options = KubeConfigOptions::default();
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| Error::Client(row.name.clone(), e.to_string()))?
        };
        Ok(config)
    }

    /// Apply the kubeconfig policy, then the outbound address policy to the server (a fast,
    /// clear 400 instead of a cluster that never connects), and seal the credentials.
    async fn connection(
        &self,
        id: Uuid,
        text: &str,
        context: Option<&str>,
        allow_insecure: bool,
    ) -> Result<Connection> {
        let accepted = kubeconfig::accept(text, context, allow_insecure)?;
        let host = accepted
            .server_url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_string))
            .unwrap_or_default();
        egress::check_host(&self.egress, &host, REGISTRATION_LOOKUP)
            .await
            .map_err(|refused| Error::Egress {
                server: accepted.server_url.clone(),
                refused,
            })?;
        // Serialising a Kubeconfig (plain data) to JSON cannot fail.
        let plain =
            serde_json::to_vec(&accepted.kubeconfig).expect("kubeconfig serialises to JSON");
        Ok(Connection {
            server_url: accepted.server_url,
            context: accepted.context,
            insecure: accepted.insecure,
            credentials: self.key.seal(id, &plain),
        })
    }
}

fn labels_json(labels: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::Value::Object(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}
