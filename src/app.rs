//! Start-up order, the long-lived tasks, and graceful shutdown. The only place that spawns and
//! joins background work.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::clusters::{Registry, SecretKey};
use crate::config::{DbConfig, LogConfig, LogFormat, ServeConfig};
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
    let key = secret_key(&config)?;
    let auth_settings = crate::auth::Settings::from_config(&config.auth, config.listen)
        .map_err(|e| anyhow::anyhow!(e))?;
    if !auth_settings.enabled {
        tracing::warn!(
            "AUTHENTICATION IS OFF (--auth=none): anyone who reaches {} is an admin",
            config.listen
        );
    }
    let store = Store::connect(&config.db).context("database configuration")?;
    tracing::info!(
        sslmode = ?store.ssl_mode(),
        pool = config.db.db_pool_size,
        api_pool = config.db.db_api_pool_size,
        api_statement_timeout_ms = config.db.db_api_statement_timeout_ms,
        "database connections"
    );
    let auth = Arc::new(crate::auth::Auth::new(store.clone(), auth_settings));
    let egress = crate::egress::Policy::from_settings(
        &config.egress.egress_allow,
        &config.egress.egress_deny,
    )
    .context("FLUXO_EGRESS_ALLOW / FLUXO_EGRESS_DENY")?;
    let registry = Registry::new(store.clone(), key, Arc::new(egress));
    let shutdown = CancellationToken::new();
    let metrics = Arc::new(Metrics::default());
    metrics.collector(store.pool_metrics());
    let ingest_metrics = ingest::IngestMetrics::register(&metrics);
    let rest_metrics = api::RestMetrics::register(&metrics);
    let codec = Arc::new(api::stream::StreamCodec);
    let hub = live::Hub::new(
        store.clone(),
        live::Settings::from_config(&config.live),
        codec,
        &metrics,
        shutdown.clone(),
    );
    let (ready_tx, ready) = tokio::sync::watch::channel(false);
    let state = Arc::new(AppState {
        actions: crate::actions::Actions::new(store.clone(), registry.clone()),
        registry: registry.clone(),
        store: store.clone(),
        ready,
        live: hub.clone(),
        metrics,
        rest_metrics,
        auth,
        streams: Default::default(),
        resync_interval_secs: Some(config.ingest.resync_interval_secs).filter(|s| *s > 0),
    });
    let live = tokio::spawn(hub.run(became_ready(state.ready.clone(), shutdown.clone())));
    let settings = ingest::Settings::from_config(&config.ingest);
    let audit_retention = config.auth.audit_retention();
    tracing::info!(replica = %settings.replica, "starting");
    let background = {
        let (state, shutdown) = (state.clone(), shutdown.clone());
        tokio::spawn(async move {
            if !prepare_database(&state, ready_tx, config.in_cluster, shutdown.clone()).await? {
                return Ok(());
            }
            let audit = api::audit_retention(store.clone(), audit_retention, shutdown.clone());
            let (ingest, ()) = tokio::join!(
                ingest::spawn(store, registry, settings, ingest_metrics, shutdown),
                audit
            );
            ingest.context("ingest task panicked")
        })
    };

    let transport = net::Settings::from_config(&config.net).context("FLUXO_TRUSTED_PROXIES")?;
    let server = net::Server::bind(config.listen, transport, state.metrics.clone())
        .await
        .context("HTTP server")?;
    tracing::info!("listening on http://{}", server.local_addr());
    let signal = {
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                _ = termination() => tracing::info!("shutting down"),
                _ = shutdown.cancelled() => {}
            }
            shutdown.cancel();
        }
    };
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let bodies = api::BodyLimits {
        max_bytes: config.max_body_bytes,
        public_time: Duration::from_secs(config.net.header_read_timeout_secs),
    };
    server.run(api::app(state, bodies), signal, grace).await;
    shutdown.cancel();
    live.await.context("live fan-out task panicked")?;
    background.await.context("database task panicked")?
}

/// Resolves once the server is ready (true), or at shutdown (false).
async fn became_ready(
    mut ready: tokio::sync::watch::Receiver<bool>,
    shutdown: CancellationToken,
) -> bool {
    tokio::select! {
        r = ready.wait_for(|r| *r) => r.is_ok(),
        _ = shutdown.cancelled() => false,
    }
}

/// Apply migrations, retrying while the database is unreachable; fatal on a refused schema.
/// Returns false when shutdown came first.
async fn prepare_database(
    state: &AppState,
    ready: tokio::sync::watch::Sender<bool>,
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
