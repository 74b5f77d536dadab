//! `GET /metrics`: every registered counter and gauge in the Prometheus text format.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};

use super::{ApiTags, AppState};

#[derive(ApiResponse)]
enum MetricsResponse {
    /// Prometheus text exposition format, version 0.0.4.
    #[oai(status = 200)]
    Ok(PlainText<String>),
}

/// The metrics endpoint.
pub struct MetricsApi;

#[OpenApi(tag = "ApiTags::Metrics")]
impl MetricsApi {
    /// Prometheus metrics
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, state: Data<&Arc<AppState>>) -> MetricsResponse {
        let mut text = state.metrics.render();
        state.writer_stats.render(&mut text);
        state.store.render_pool_metrics(&mut text);
        MetricsResponse::Ok(PlainText(text))
    }
}
