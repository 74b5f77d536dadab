//! `GET /metrics`: every registered series in the Prometheus text format (0.0.4), and what the
//! HTTP layer measures: each request's latency by operation and status class; the fleet's
//! objects by health are counted first (`fleet_gauges`).

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};

use super::{ApiTags, AppState};
use crate::metrics::{self, EncodeLabelSet, Family, Histogram, Metrics};

#[derive(ApiResponse)]
enum MetricsResponse {
    /// Prometheus text exposition format, version 0.0.4.
    #[oai(
        status = 200,
        content_type = "text/plain; version=0.0.4; charset=utf-8"
    )]
    Ok(PlainText<String>),
}

/// The metrics endpoint.
pub struct MetricsApi;

#[OpenApi(tag = "ApiTags::Metrics")]
impl MetricsApi {
    /// Prometheus metrics
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, state: Data<&Arc<AppState>>) -> MetricsResponse {
        let gauges = &state.fleet_gauges;
        let _one_scrape = gauges.scrape.lock().await;
        match state.store.fleet_counts().await {
            Ok(counts) => gauges.set(&counts),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count the fleet for /metrics; its gauges are left out");
                gauges.clear();
            }
        }
        MetricsResponse::Ok(PlainText(state.metrics.render()))
    }
}

/// The labels of a request's latency: both bounded (the spec's operation ids, five classes).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    /// The OpenAPI operation id, or `none` for paths outside the spec (UI files, docs, the
    /// login page, unknown routes).
    operation: &'static str,
    /// `2xx`, `4xx`, …
    status: &'static str,
}

/// REST latency per operation. Written by the guard for every request, read by `/metrics`.
#[derive(Debug, Clone)]
pub struct RestMetrics {
    seconds: Family<RouteLabels, Histogram>,
}

fn rest_histogram() -> Histogram {
    metrics::histogram(metrics::FAST_SECONDS)
}

impl RestMetrics {
    /// Register the series in `m`.
    pub fn register(m: &Metrics) -> RestMetrics {
        let seconds = m.register(
            "fluxo_http_request_duration_seconds",
            "Time from a request reaching the guard to its response head, by OpenAPI operation \
             and status class.",
            Family::new_with_constructor(rest_histogram as fn() -> Histogram),
        );
        RestMetrics { seconds }
    }

    /// A request for `operation` (empty: none) answered `status` after `took`.
    pub fn observe(&self, operation: &'static str, status: StatusCode, took: Duration) {
        let labels = RouteLabels {
            operation: if operation.is_empty() {
                "none"
            } else {
                operation
            },
            status: status_class(status),
        };
        self.seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_labelled_by_operation_and_status_class_only() {
        let m = Metrics::default();
        let rest = RestMetrics::register(&m);
        let ms = Duration::from_millis(3);
        rest.observe("listClusters", StatusCode::OK, ms);
        rest.observe("listClusters", StatusCode::NO_CONTENT, ms);
        rest.observe("", StatusCode::NOT_FOUND, ms);
        rest.observe("stream", StatusCode::SWITCHING_PROTOCOLS, ms);
        let text = m.render();
        for series in [
            "fluxo_http_request_duration_seconds_count{operation=\"listClusters\",status=\"2xx\"} 2",
            "fluxo_http_request_duration_seconds_count{operation=\"none\",status=\"4xx\"} 1",
            "fluxo_http_request_duration_seconds_count{operation=\"stream\",status=\"1xx\"} 1",
        ] {
            assert!(text.lines().any(|l| l == series), "{series}:\n{text}");
        }
    }
}
