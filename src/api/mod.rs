//! HTTP: REST handlers (poem-openapi, one file per resource), error mapping, probes, docs, the web UI.
//! Handlers call `clusters`/`store`; they hold no SQL and no kube calls.

mod actions;
mod auditlog;
pub mod auth;
mod body;
mod changes;
mod clusters;
mod deliveries;
pub mod error;
mod events;
mod explain;
mod fleet_gauges;
mod graph;
mod health;
mod history;
mod login;
mod metrics;
pub mod model;
mod notifications;
mod oidc;
mod params;
mod reliability;
mod resources;
mod rollouts;
pub mod routes;
mod session;
mod spec;
mod stats;
pub mod stream;
mod timeline;
mod tokens;
mod ui;
mod versions;
pub mod vocabulary;
mod workloads;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::clusters::Registry;
use crate::store::Store;

pub use auditlog::retention as audit_retention;
pub use body::Limits as BodyLimits;
pub use clusters::{Cluster, ClusterList, CreateCluster, UpdateCluster};
pub use error::{ApiError, ErrorBody};
pub use fleet_gauges::FleetGauges;
pub use metrics::RestMetrics;

/// Shared state of the HTTP layer.
pub struct AppState {
    /// The database; read by handlers and `/readyz`.
    pub store: Store,
    /// The cluster registry.
    pub registry: Registry,
    /// Notification sinks, rules and mutes.
    pub notify: crate::notify::Notify,
    /// Acting on Flux objects (reconcile, suspend, …) in their clusters.
    pub actions: crate::actions::Actions,
    /// True once the schema is current and the bootstrap token installed: written by `app`'s
    /// start-up task (which owns the sender), read by the guard (API requests get 503
    /// `starting` before) and `/readyz`.
    pub ready: tokio::sync::watch::Receiver<bool>,
    /// Live fan-out: `/api/v1/stream` subscribes to it; `app` runs and joins it.
    pub live: crate::live::Hub,
    /// The server's counters and gauges (registered at start-up; read by `/metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// REST latency per operation (registered in `metrics` at start-up; written by the guard).
    pub rest_metrics: RestMetrics,
    /// The fleet's objects by health (registered in `metrics` at start-up; counted and
    /// rendered by `/metrics`).
    pub fleet_gauges: Arc<FleetGauges>,
    /// Authentication: tokens, sessions, OIDC (read by the guard and the auth endpoints).
    pub auth: Arc<crate::auth::Auth>,
    /// Open streams per principal (the stream endpoint's cap).
    pub streams: Arc<stream::StreamCounts>,
    /// Seconds between backstop relists (`FLUXO_RESYNC_INTERVAL_SECS`), `None` when they are
    /// off; set at start, read by the cluster list so the UI can say when the first one is due.
    pub resync_interval_secs: Option<u64>,
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
    /// What happened across the fleet, by time, with bursts grouped.
    Timeline,
    /// Where each revision of each source has reached across the fleet, and where it fails.
    Rollouts,
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
    /// The objects Flux applies (Deployments, Services, …): owner, health, replicas, images.
    Workloads,
    /// Fleet notifications: sinks, rules, mutes (admin; operators mute).
    Notifications,
    /// How long objects stay failed, how often they fail, how fast they recover.
    Reliability,
}

fn service() -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    OpenApiService::new(
        (
            health::HealthApi,
            clusters::ClustersApi,
            actions::ActionsApi,
            resources::ResourcesApi,
            versions::VersionsApi,
            // poem-openapi implements `OpenApi` for tuples of up to 16: the graph and the
            // workloads (what Flux objects applied) are one element.
            (graph::GraphApi, workloads::WorkloadsApi),
            changes::ChangesApi,
            events::EventsApi,
            stats::StatsApi,
            // Fleet history (issue 17): the timeline, the rollouts and the reliability figures
            // are one element.
            (
                timeline::TimelineApi,
                rollouts::RolloutsApi,
                reliability::ReliabilityApi,
            ),
            stream::StreamApi,
            metrics::MetricsApi,
            session::SessionApi,
            tokens::TokensApi,
            auditlog::AuditApi,
            // A tuple of at most 16 implements `OpenApi`: the newer APIs nest.
            (
                oidc::OidcApi,
                notifications::NotificationsApi,
                deliveries::DeliveriesApi,
            ),
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
/// operation's required role (`x-required-role`) and the security schemes, finished for
/// client generators and the shared layers' answers ([`spec`]).
pub fn spec_json() -> String {
    static SPEC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        let mut spec: serde_json::Value = serde_json::from_str(&raw_spec()).unwrap_or_default();
        auth::policy::annotate(&mut spec);
        spec::finish(&mut spec);
        serde_json::to_string_pretty(&spec).unwrap_or_default()
    })
    .clone()
}

/// The Swagger UI at `/api/docs`, showing the spec we serve. poem-openapi's page embeds the
/// spec as generated, without the security schemes and access rules that `annotate` writes in,
/// so Swagger UI offered no Authorize button; this page embeds [`spec_json`] in its place.
fn docs_page(page: String) -> impl Endpoint {
    let raw = raw_spec();
    if !page.contains(&raw) {
        // Only if poem-openapi stopped embedding its spec verbatim; tests/it/api_docs.rs fails.
        tracing::warn!("the Swagger UI page does not embed the generated spec; docs unannotated");
    }
    // `</` inside a string would end the inline <script>; `<\/` is the same JSON string.
    let page = bytes::Bytes::from(page.replacen(&raw, &spec_json().replace("</", "<\\/"), 1));
    Route::new().at(
        "/",
        poem::endpoint::make_sync(move |_| {
            poem::Response::builder()
                .content_type("text/html; charset=utf-8")
                .body(page.clone())
        }),
    )
}

/// The whole HTTP application.
pub fn app(state: Arc<AppState>, bodies: BodyLimits) -> impl Endpoint {
    let service = service();
    let docs = docs_page(service.swagger_ui_html());
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
        .around(explain::remember)
        // After the guard: a body is limited (and read) only once the caller may send it.
        .around(move |ep, req| body::limit(ep, req, bodies))
        .around(auth::guard)
        .data(state)
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
