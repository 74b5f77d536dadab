//! HTTP: REST handlers (poem-openapi, one file per resource), error mapping, probes, docs, the web UI.
//! Handlers call `clusters`/`store`; they hold no SQL and no kube calls.

mod actions;
mod auditlog;
pub mod auth;
mod changes;
mod clusters;
pub mod error;
mod events;
mod health;
mod login;
mod metrics;
pub mod model;
mod oidc;
mod resources;
mod session;
mod stats;
pub mod stream;
mod tokens;
mod ui;
mod versions;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::clusters::Registry;
use crate::store::Store;

pub use auditlog::retention as audit_retention;
pub use clusters::{Cluster, ClusterList, CreateCluster, UpdateCluster};
pub use error::{ApiError, ErrorBody};

/// Shared state of the HTTP layer.
pub struct AppState {
    /// The database; read by handlers and `/readyz`.
    pub store: Store,
    /// The cluster registry.
    pub registry: Registry,
    /// True once the schema is current and the bootstrap token installed: written by `app`'s
    /// start-up task (which owns the sender), read by the guard (API requests get 503
    /// `starting` before) and `/readyz`.
    pub ready: tokio::sync::watch::Receiver<bool>,
    /// Counters of the ingest writer (written by the writer task; read by `/metrics`).
    pub writer_stats: Arc<crate::ingest::WriterStats>,
    /// Live fan-out: `/api/v1/stream` subscribes to it; `app` runs and joins it.
    pub live: crate::live::Hub,
    /// Process-wide counters and gauges (registered at start-up; read by `/metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Authentication: tokens, sessions, OIDC (read by the guard and the auth endpoints).
    pub auth: Arc<crate::auth::Auth>,
    /// Open streams per principal (the stream endpoint's cap).
    pub streams: Arc<stream::StreamCounts>,
}

/// Tags grouping operations in the spec.
#[derive(Tags)]
pub enum ApiTags {
    /// Registered clusters and their credentials (write-only).
    Clusters,
    /// Acting on Flux objects: reconcile, suspend, resume, force, reset.
    Actions,
    /// Liveness and readiness probes.
    Health,
    /// Flux objects across the fleet: lists, detail, history.
    Resources,
    /// The change log of every Flux object.
    Changes,
    /// The Flux controllers' Kubernetes events.
    Events,
    /// Counts for the fleet overview.
    Stats,
    /// The live stream of committed changes (WebSocket).
    Stream,
    /// Prometheus metrics.
    Metrics,
    /// Browser sessions: log in with a token, who am I, log out.
    Session,
    /// API tokens (admin).
    Tokens,
    /// The audit log (admin).
    Audit,
    /// OIDC login (browser redirects).
    Oidc,
}

fn service() -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    OpenApiService::new(
        (
            health::HealthApi,
            clusters::ClustersApi,
            actions::ActionsApi,
            resources::ResourcesApi,
            versions::VersionsApi,
            changes::ChangesApi,
            events::EventsApi,
            stats::StatsApi,
            stream::StreamApi,
            metrics::MetricsApi,
            session::SessionApi,
            tokens::TokensApi,
            auditlog::AuditApi,
            oidc::OidcApi,
        ),
        "flux-orchestrator",
        env!("CARGO_PKG_VERSION"),
    )
    .description("Watch and operate Flux CD across many Kubernetes clusters.")
}

/// The spec as poem-openapi generates it, before the access rules are written in.
pub(crate) fn raw_spec() -> String {
    service().spec()
}

/// The OpenAPI specification as pretty JSON (what `openapi/openapi.json` holds), with each
/// operation's required role (`x-required-role`) and the security schemes.
pub fn spec_json() -> String {
    static SPEC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        let mut spec: serde_json::Value = serde_json::from_str(&raw_spec()).unwrap_or_default();
        auth::policy::annotate(&mut spec);
        serde_json::to_string_pretty(&spec).unwrap_or_default()
    })
    .clone()
}

/// The whole HTTP application.
pub fn app(state: Arc<AppState>, max_body_bytes: usize) -> impl Endpoint {
    let service = service();
    let docs = service.swagger_ui();
    let spec = poem::endpoint::make_sync(|_| {
        poem::Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(spec_json())
    });
    let cors = cors(&state.auth.settings().cors_origins);
    Route::new()
        .at("/api/v1/openapi.json", spec)
        .nest("/api/docs", docs)
        .at("/login", poem::get(login::show).post(login::submit))
        .nest("/", ui::with_ui(service))
        .around(auth::guard)
        .data(state)
        .around(move |ep, req| error::limit_body(ep, req, max_body_bytes))
        .with_if(cors.is_some(), cors.unwrap_or_default())
        .around(auth::headers::secure)
        .catch_all_error(error::to_json)
}

/// CORS for the configured origins (bearer tokens only: no credentials); none by default.
fn cors(origins: &[String]) -> Option<poem::middleware::Cors> {
    if origins.is_empty() {
        return None;
    }
    Some(
        poem::middleware::Cors::new()
            .allow_origins(origins.iter().map(String::as_str))
            .allow_methods(["GET", "POST", "PATCH", "DELETE"])
            .allow_headers(["authorization", "content-type"])
            .allow_credentials(false)
            .max_age(600),
    )
}
