//! Start-up order, the long-lived tasks, and graceful shutdown. The only place that spawns and
//! joins background work.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::clusters::{Registry, SecretKey};
use crate::config::{DbConfig, LogConfig, LogFormat, ServeConfig};
use crate::history;
use crate::ingest;
use crate::live;
use crate::metrics::Metrics;
use crate::net;
use crate::store::Store;

/// The log filter: the configured one, with the kube client's own logging off unless the
/// filter names it. kube logs every failed request at ERROR without naming the cluster (a dead
/// cluster repeated one every few seconds); our supervisors log each cluster's state changes,
/// with the cluster and kind, instead.
pub fn log_filter(configured: &str) -> String {
    if configured.contains("kube") {
        configured.to_string()
    } else {
        format!("{configured},kube_client=off,kube_runtime=off")
    }
}

/// Install the global tracing subscriber (stderr).
pub fn init_tracing(config: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_new(log_filter(&config.log))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// `flux-orchestrator migrate`: apply pending migrations and exit.
pub async fn migrate(db: &DbConfig) -> anyhow::Result<()> {
    let store = Store::connect(db).context("database configuration")?;
    let applied = store.migrate().await.context("applying migrations")?;
    tracing::info!(applied, "database schema is current");
    Ok(())
}

fn secret_key(config: &ServeConfig) -> anyhow::Result<SecretKey> {
    match (&config.secret_key, &config.dev_secret_key_file) {
        (Some(text), _) => Ok(SecretKey::from_base64(text)?),
        (None, Some(path)) => {
            tracing::warn!(path = %path.display(), "using a development key file for credentials; set FLUXO_SECRET_KEY in production");
            Ok(SecretKey::load_or_create(path)?)
        }
        (None, None) => bail!(
            "FLUXO_SECRET_KEY is required: 32 random bytes, base64 (e.g. `openssl rand -base64 32`); \
             it encrypts cluster credentials at rest. For local development pass --dev-secret-key-file PATH"
        ),
    }
}

/// `flux-orchestrator serve`: run until SIGINT/SIGTERM or a fatal error.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let app = spawn_app(config).await?;
    let shutdown = app.shutdown_token();
    tokio::select! {
        _ = termination() => {
            tracing::info!("shutting down");
            shutdown.cancel();
        }
        _ = shutdown.cancelled() => {}
    }
    app.wait().await
}

/// A server started by [`spawn_app`]: where it listens, and how to stop it.
pub struct RunningApp {
    addr: SocketAddr,
    shutdown: CancellationToken,
    done: JoinHandle<anyhow::Result<()>>,
}

impl RunningApp {
    /// The address the server accepts connections on (the port the system picked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cancelling this token stops the server (it also fires when a fatal error stops it).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stop the server: in-flight requests get the grace period, background tasks are joined.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Wait until the server has stopped, by [`RunningApp::shutdown`] or a fatal error (an
    /// unusable database schema, a failed bootstrap token).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.done.await.context("server task panicked")?
    }
}

/// Start the server on the current tokio runtime and return once it listens on
/// `config.listen` (port 0: a free port, see [`RunningApp::addr`]). Migrations and the
/// bootstrap token follow in the background: `/readyz` answers 200 once they are done. Several
/// apps may run in one process (the integration tests do): each has its own database pools,
/// metrics registry and tasks; the tracing subscriber, which is global, is left to the caller.
pub async fn spawn_app(config: ServeConfig) -> anyhow::Result<RunningApp> {
    let parts = Parts::new(&config)?;
    let shutdown = CancellationToken::new();
    let (state, hub, ready_tx) = parts.state(&config, shutdown.clone());
    let transport = parts.transport.clone();
    let tasks = Tasks {
        live: tokio::spawn(hub.run(became_ready(state.ready.clone(), shutdown.clone()))),
        background: spawn_background(&config, &state, parts.ingest_metrics, ready_tx, &shutdown),
    };
    let bound = net::Server::bind(config.listen, transport, state.metrics.clone());
    let server = match bound.await {
        Ok(server) => server,
        Err(e) => {
            shutdown.cancel();
            return Err(e).context("HTTP server");
        }
    };
    let addr = server.local_addr();
    tracing::info!("listening on http://{addr}");
    let app = api::app(state, body_limits(&config));
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let done = tokio::spawn(run(server, app, grace, tasks, shutdown.clone()));
    Ok(RunningApp {
        addr,
        shutdown,
        done,
    })
}

/// The long-lived tasks besides the HTTP server: joined after it stops.
struct Tasks {
    live: JoinHandle<()>,
    background: JoinHandle<anyhow::Result<()>>,
}

/// Serve until `shutdown` (in-flight requests get `grace`), then stop and join the other tasks.
async fn run(
    server: net::Server,
    app: impl poem::Endpoint + 'static,
    grace: Duration,
    tasks: Tasks,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    server
        .run(app, shutdown.clone().cancelled_owned(), grace)
        .await;
    shutdown.cancel();
    tasks.live.await.context("live fan-out task panicked")?;
    tasks.background.await.context("database task panicked")?
}

/// How large and how slow request bodies may be.
fn body_limits(config: &ServeConfig) -> api::BodyLimits {
    api::BodyLimits {
        max_bytes: config.max_body_bytes,
        public_time: Duration::from_secs(config.net.header_read_timeout_secs),
    }
}

/// The store of `serve`, once its connections fit `FLUXO_DB_CONNECTION_BUDGET`: a replica
/// whose pools could outgrow what the database accepts fails here, with the sums, rather than
/// later under load with PostgreSQL's "too many clients" on some request.
fn connect_store(db: &DbConfig) -> anyhow::Result<Store> {
    let need = db
        .check_connection_budget()
        .map_err(|e| anyhow::anyhow!(e))?;
    let store = Store::connect(db).context("database configuration")?;
    tracing::info!(
        sslmode = ?store.ssl_mode(),
        pool = db.db_pool_size,
        api_pool = db.db_api_pool_size,
        api_statement_timeout_ms = db.db_api_statement_timeout_ms,
        read_standby = store.has_standby(),
        primary_connections = need.primary,
        standby_connections = need.standby,
        budget = db.db_connection_budget,
        "database connections"
    );
    Ok(store)
}

/// What the server is built from, checked before anything starts: the credential key, the
/// authentication settings, the database pools and the outbound address policy.
struct Parts {
    store: Store,
    registry: Registry,
    notify: crate::notify::Notify,
    auth: Arc<crate::auth::Auth>,
    metrics: Arc<Metrics>,
    ingest_metrics: ingest::IngestMetrics,
    rest_metrics: api::RestMetrics,
    transport: net::Settings,
}

impl Parts {
    fn new(config: &ServeConfig) -> anyhow::Result<Parts> {
        let key = secret_key(config)?;
        let auth_settings = crate::auth::Settings::from_config(&config.auth, config.listen)
            .map_err(|e| anyhow::anyhow!(e))?;
        let transport = net::Settings::from_config(&config.net).context("FLUXO_TRUSTED_PROXIES")?;
        ingest::workload_watches(&config.ingest.workload_kinds)
            .map_err(|e| anyhow::anyhow!("FLUXO_WORKLOAD_KINDS: {e}"))?;
        if !auth_settings.enabled {
            tracing::warn!(
                "AUTHENTICATION IS OFF (--auth=none): anyone who reaches {} is an admin",
                config.listen
            );
        }
        let store = connect_store(&config.db)?;
        let auth = Arc::new(crate::auth::Auth::new(store.clone(), auth_settings));
        let egress = crate::egress::Policy::from_settings(
            &config.egress.egress_allow,
            &config.egress.egress_deny,
        )
        .context("FLUXO_EGRESS_ALLOW / FLUXO_EGRESS_DENY")?;
        let egress = Arc::new(egress);
        let notify = crate::notify::Notify::new(store.clone(), key.clone(), egress.clone());
        let registry = Registry::new(store.clone(), key, egress);
        let metrics = Arc::new(Metrics::default());
        metrics.collector(store.pool_metrics());
        Ok(Parts {
            ingest_metrics: ingest::IngestMetrics::register(&metrics),
            rest_metrics: api::RestMetrics::register(&metrics),
            store,
            registry,
            notify,
            auth,
            metrics,
            transport,
        })
    }

    /// The handlers' shared state, the live hub (not running yet) and the sender of the
    /// readiness flag (owned by the start-up task).
    fn state(
        &self,
        config: &ServeConfig,
        shutdown: CancellationToken,
    ) -> (Arc<AppState>, live::Hub, watch::Sender<bool>) {
        let codec = Arc::new(api::stream::StreamCodec);
        let hub = live::Hub::new(
            self.store.clone(),
            live::Settings::from_config(&config.live),
            codec,
            &self.metrics,
            shutdown,
        );
        let (ready_tx, ready) = watch::channel(false);
        let state = Arc::new(AppState {
            actions: crate::actions::Actions::new(self.store.clone(), self.registry.clone()),
            registry: self.registry.clone(),
            notify: self.notify.clone(),
            store: self.store.clone(),
            ready,
            live: hub.clone(),
            metrics: self.metrics.clone(),
            rest_metrics: self.rest_metrics.clone(),
            fleet_gauges: Arc::new(api::FleetGauges::register(&self.metrics)),
            auth: self.auth.clone(),
            streams: Default::default(),
            resync_interval_secs: Some(config.ingest.resync_interval_secs).filter(|s| *s > 0),
        });
        (state, hub, ready_tx)
    }
}

/// The start-up task (migrations, bootstrap token, readiness), then ingest, the audit log's
/// retention, the notification engine and the reliability roll-up job until shutdown.
fn spawn_background(
    config: &ServeConfig,
    state: &Arc<AppState>,
    ingest_metrics: ingest::IngestMetrics,
    ready_tx: watch::Sender<bool>,
    shutdown: &CancellationToken,
) -> JoinHandle<anyhow::Result<()>> {
    let settings = ingest::Settings::from_config(&config.ingest);
    let audit_retention = config.auth.audit_retention();
    let reliability = history::Settings::from_config(&config.reliability);
    let in_cluster = config.in_cluster;
    let notify = notify_settings(config);
    tracing::info!(replica = %settings.replica, "starting");
    let (state, shutdown) = (state.clone(), shutdown.clone());
    tokio::spawn(async move {
        if !prepare_database(&state, ready_tx, in_cluster, shutdown.clone()).await? {
            return Ok(());
        }
        let (store, registry) = (state.store.clone(), state.registry.clone());
        let audit = api::audit_retention(store.clone(), audit_retention, shutdown.clone());
        let engine = crate::notify::engine::run(state.notify.clone(), notify, shutdown.clone());
        let rollups = history::rollups::run(store.clone(), reliability, shutdown.clone());
        let (ingest, (), (), ()) = tokio::join!(
            ingest::spawn(store, registry, settings, ingest_metrics, shutdown),
            audit,
            engine,
            rollups
        );
        ingest.context("ingest task panicked")
    })
}

/// The notification engine's settings: links use the public URL when there is one.
fn notify_settings(config: &ServeConfig) -> crate::notify::engine::Settings {
    let n = &config.notify;
    crate::notify::engine::Settings {
        minute: Duration::from_secs(n.notify_minute_secs),
        base_url: config.auth.public_url.clone().unwrap_or_default(),
        per_sink: usize::from(n.notify_per_sink),
        retention: Duration::from_secs(n.notify_retention_days.max(1).saturating_mul(86_400)),
    }
}

/// Resolves once the server is ready (true), or at shutdown (false).
async fn became_ready(mut ready: watch::Receiver<bool>, shutdown: CancellationToken) -> bool {
    tokio::select! {
        r = ready.wait_for(|r| *r) => r.is_ok(),
        _ = shutdown.cancelled() => false,
    }
}

/// Apply migrations, retrying while the database is unreachable; fatal on a refused schema.
/// Returns false when shutdown came first.
async fn prepare_database(
    state: &AppState,
    ready: watch::Sender<bool>,
    in_cluster: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<bool> {
    let mut delay = Duration::from_millis(200);
    loop {
        match state.store.migrate().await {
            Ok(applied) => {
                tracing::info!(applied, "database schema is current");
                break;
            }
            Err(e) if e.is_unavailable() => {
                // As a `dyn Error`, the log line carries the causes too (a refused certificate,
                // a failed login), not just "error performing TLS handshake".
                let error: &dyn std::error::Error = &e;
                tracing::warn!(error, retry_in = ?delay, "database unreachable; retrying");
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                shutdown.cancel();
                return Err(e).context("applying migrations");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => return Ok(false),
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    if let Err(e) = backfill_edges(&state.store).await {
        tracing::error!(error = %e, "cannot compute the edges of objects stored before them");
        shutdown.cancel();
        return Err(e).context("edges backfill");
    }
    learn_stored_kinds(&state.store).await;
    if let Err(e) = state.auth.bootstrap().await {
        tracing::error!(error = %e, "cannot install the bootstrap admin token");
        shutdown.cancel();
        return Err(e).context("bootstrap admin token");
    }
    ready.send_replace(true);
    if in_cluster && let Err(e) = state.registry.ensure_in_cluster().await {
        tracing::error!(error = %e, "cannot register the in-cluster cluster");
    }
    Ok(true)
}

/// Add the Flux kinds other replicas discovered (stored objects of kinds outside the known
/// catalogue) to this replica's catalogue, so its API accepts them in filters before its
/// own discovery meets them. A failure only delays that.
async fn learn_stored_kinds(store: &Store) {
    match store.stored_kinds().await {
        Ok(kinds) => {
            for (api_version, kind) in kinds {
                let group = crate::flux::group_of(&api_version);
                crate::flux::learn(group, crate::flux::version_of(&api_version), &kind);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the stored kinds"),
    }
}

/// Compute the edges of objects stored before migration 0011 (once; nothing to do afterwards).
async fn backfill_edges(store: &Store) -> Result<(), crate::store::Error> {
    let mut total = 0;
    loop {
        let taken = store.backfill_edges(1_000).await?;
        if taken == 0 {
            break;
        }
        total += taken;
    }
    if total > 0 {
        tracing::info!(
            objects = total,
            "computed the edges of objects stored before them"
        );
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn termination() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn the_kube_clients_own_logging_is_off_unless_the_filter_names_it() {
        assert_eq!(log_filter("info"), "info,kube_client=off,kube_runtime=off");
        assert_eq!(
            log_filter("info,kube_client=debug"),
            "info,kube_client=debug"
        );
    }
}
