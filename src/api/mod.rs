//! HTTP: REST handlers (poem-openapi, one file per resource), error mapping, probes, docs, the web UI.
//! Handlers call `clusters`/`store`; they hold no SQL and no kube calls.

mod actions;
mod changes;
mod clusters;
pub mod error;
mod events;
mod health;
mod metrics;
pub mod model;
mod resources;
mod stats;
pub mod stream;
mod ui;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::clusters::Registry;
use crate::store::Store;

pub use clusters::{Cluster, ClusterList, CreateCluster, UpdateCluster};
pub use error::{ApiError, ErrorBody};

/// Shared state of the HTTP layer.
pub struct AppState {
    /// The database; read by handlers and `/readyz`.
    pub store: Store,
    /// The cluster registry.
    pub registry: Registry,
    /// Set by `app`'s migration task once the schema is current; read by `/readyz`.
    pub migrated: AtomicBool,
    /// Counters of the ingest writer (written by the writer task; read by `/metrics`).
    pub writer_stats: Arc<crate::ingest::WriterStats>,
    /// Live fan-out: `/api/v1/stream` subscribes to it; `app` runs and joins it.
    pub live: crate::live::Hub,
    /// Process-wide counters and gauges (registered at start-up; read by `/metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
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
}

fn service() -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    OpenApiService::new(
        (
            health::HealthApi,
            clusters::ClustersApi,
            actions::ActionsApi,
            resources::ResourcesApi,
            changes::ChangesApi,
            events::EventsApi,
            stats::StatsApi,
            stream::StreamApi,
            metrics::MetricsApi,
        ),
        "flux-orchestrator",
        env!("CARGO_PKG_VERSION"),
    )
    .description("Watch and operate Flux CD across many Kubernetes clusters.")
}

/// The OpenAPI specification as pretty JSON (what `openapi/openapi.json` holds).
pub fn spec_json() -> String {
    service().spec()
}

/// The whole HTTP application.
pub fn app(state: Arc<AppState>, max_body_bytes: usize) -> impl Endpoint {
    let service = service();
    let spec = service.spec_endpoint();
    let docs = service.swagger_ui();
    Route::new()
        .at("/api/v1/openapi.json", spec)
        .nest("/api/docs", docs)
        .nest("/", ui::with_ui(service))
        .data(state)
        .around(move |ep, req| error::limit_body(ep, req, max_body_bytes))
        .catch_all_error(error::to_json)
}
