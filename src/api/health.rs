//! `/healthz` (the process is alive) and `/readyz` (it can serve: database reachable and migrated).

use std::sync::Arc;
use std::time::Duration;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::error::ErrorBody;
use super::{ApiTags, AppState};

/// A probe's answer.
#[derive(Object, Debug)]
pub struct ProbeStatus {
    /// `ok` or `ready`.
    pub status: String,
}

#[derive(ApiResponse)]
enum HealthResponse {
    /// The process is alive.
    #[oai(status = 200)]
    Ok(Json<ProbeStatus>),
}

#[derive(ApiResponse)]
enum ReadyResponse {
    /// Ready to serve.
    #[oai(status = 200)]
    Ready(Json<ProbeStatus>),
    /// Not ready: the database is unreachable or migrations have not been applied yet.
    #[oai(status = 503)]
    NotReady(Json<ErrorBody>),
}

/// Probe endpoints.
pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness probe
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::Ok(Json(ProbeStatus {
            status: "ok".into(),
        }))
    }

    /// Readiness probe
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&Arc<AppState>>) -> ReadyResponse {
        let not_ready = |code: &str, message: String| {
            ReadyResponse::NotReady(Json(ErrorBody {
                code: code.into(),
                message,
                oldest: None,
            }))
        };
        if !*state.ready.borrow() {
            return not_ready(
                "migrations_pending",
                "database migrations have not been applied yet".into(),
            );
        }
        match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
            Ok(Ok(())) => ReadyResponse::Ready(Json(ProbeStatus {
                status: "ready".into(),
            })),
            Ok(Err(e)) => not_ready("database_unavailable", format!("database unavailable: {e}")),
            Err(_) => not_ready(
                "database_unavailable",
                "database did not answer within 2 s".into(),
            ),
        }
    }
}
