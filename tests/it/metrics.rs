//! `/metrics` of the real server, ingesting a simulated cluster: the Prometheus text format
//! (0.0.4) that Prometheus scrapes, every series operators already use, and the histograms of
//! issue 15 — REST latency per operation, batch commit, LIST per kind, change → frame — with
//! labels that stay bounded (no object or free text in any label, and a cluster only in the
//! per-cluster object counts).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use flux_orchestrator::flux;
use serde_json::Value;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::{FAST_INGEST, register, sim, wait_in_sync};

/// Series that existed before the registry moved to `prometheus-client`: dashboards and alerts
/// use these names, so each must still be there.
const KEPT: &[&str] = &[
    "fluxo_live_subscribers",
    "fluxo_live_messages_sent_total",
    "fluxo_live_replayed_total",
    "fluxo_live_published_total",
    "fluxo_live_head_seq",
    "fluxo_live_broadcast_lag",
    "fluxo_live_publish_delay_milliseconds",
    "fluxo_live_listener_connected",
    "fluxo_live_listener_connects_total",
    "fluxo_live_client_errors_total",
    "fluxo_changes_pruned_total",
    "fluxo_live_resyncs_total{reason=\"slow\"}",
    "fluxo_live_resyncs_total{reason=\"too_old\"}",
    "fluxo_live_resyncs_total{reason=\"unknown_seq\"}",
    "fluxo_http_connections",
    "fluxo_http_connections_refused_total{reason=\"global\"}",
    "fluxo_http_connections_refused_total{reason=\"per_ip\"}",
    "fluxo_http_connections_timed_out_total{phase=\"header\"}",
    "fluxo_http_connections_timed_out_total{phase=\"idle\"}",
    "fluxo_ingest_batches_total",
    "fluxo_ingest_ops_total",
    "fluxo_ingest_upserted_total",
    "fluxo_ingest_deleted_total",
    "fluxo_ingest_swept_total",
    "fluxo_ingest_unchanged_total",
    "fluxo_ingest_events_total",
    "fluxo_ingest_write_failures_total",
    "fluxo_resync_drift_total",
    "fluxo_ingest_last_commit_seconds",
    "fluxo_db_pool_connections{pool=\"main\"}",
    "fluxo_db_pool_max_connections{pool=\"api\"}",
    "fluxo_db_pool_waiting{pool=\"main\"}",
    "fluxo_db_pool_acquired_total{pool=\"main\"}",
    "fluxo_db_pool_wait_seconds_total{pool=\"api\"}",
    "fluxo_db_pool_failed_total{pool=\"main\"}",
];

/// One sample line: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parse `k="v",k="v"` (values escaped as the format says).
fn labels(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("label key");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (i, '"') => break i,
                (_, '\\') => match chars.next().expect("escape").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        assert!(
            out.insert(key.to_string(), value).is_none(),
            "label {key} twice"
        );
        rest = after[end + 1..].trim_start_matches(',');
    }
    out
}

/// Check the text format line by line, as Prometheus's parser would: every sample belongs to
/// the family its `# TYPE` declared just before (with `_bucket`/`_sum`/`_count` for
/// histograms), no family is declared twice, every value is a number.
fn parse(text: &str) -> Vec<Sample> {
    let (mut families, mut current, mut samples) = (BTreeSet::new(), None, Vec::new());
    for line in text.lines() {
        if let Some(help) = line.strip_prefix("# HELP ") {
            assert!(help.split_once(' ').is_some(), "help without text: {line}");
            continue;
        }
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let (name, kind) = declared.split_once(' ').expect("type line");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(families.insert(name.to_string()), "{name} declared twice");
            current = Some((name.to_string(), kind.to_string()));
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, self::labels(l.strip_suffix('}').expect("closing brace"))),
            None => (series, BTreeMap::new()),
        };
        let (family, kind) = current.as_ref().expect("sample before any # TYPE");
        let suffix = name.strip_prefix(family.as_str());
        let fits = match kind.as_str() {
            "histogram" => matches!(suffix, Some("_bucket" | "_sum" | "_count")),
            _ => suffix == Some(""),
        };
        assert!(fits, "{name} is not of family {family} ({kind})");
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == want.len()
                && want
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .unwrap_or_else(|| panic!("no {name}{want:?}"))
}

async fn scrape(server: &TestServer) -> (String, String) {
    let r = server
        .http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    (content_type, r.text().await.unwrap())
}

#[tokio::test]
async fn metrics_keep_every_series_and_add_bounded_latency_histograms_in_the_text_format() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let sim = sim("metrics-alpha", 3).await;
    let id = register(&server, "metrics-alpha", &sim.kubeconfig_yaml()).await;
    wait_in_sync(&db.client().await, id, &sim, Duration::from_secs(30)).await;
    let http = server.http();
    let get = |path: &str| http.get(server.url(path)).send();
    assert_eq!(get("/api/v1/clusters").await.unwrap().status(), 200);
    let missing = "/api/v1/clusters/00000000-0000-0000-0000-000000000000";
    assert_eq!(get(missing).await.unwrap().status(), 404);
    assert_eq!(get("/api/v1/no-such-route").await.unwrap().status(), 404);

    // The live listener publishes the ingested changes shortly after their commit.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let (content_type, text) = loop {
        let (content_type, text) = scrape(&server).await;
        let samples = parse(&text);
        let published = value(&samples, "fluxo_live_change_to_frame_seconds_count", &[]);
        if published > 0.0 || tokio::time::Instant::now() > deadline {
            break (content_type, text);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let samples = parse(&text);
    for series in KEPT {
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, self::labels(l.trim_end_matches('}'))),
            None => (*series, BTreeMap::new()),
        };
        assert!(
            samples.iter().any(|s| s.name == name && s.labels == labels),
            "{series} is gone:\n{text}"
        );
    }

    let at_least_one = |name: &str, labels: &[(&str, &str)]| {
        let n = value(&samples, name, labels);
        assert!(n >= 1.0, "{name}{labels:?} = {n}:\n{text}");
    };
    at_least_one("fluxo_live_change_to_frame_seconds_count", &[]);
    at_least_one("fluxo_ingest_batch_commit_seconds_count", &[]);
    at_least_one(
        "fluxo_ingest_list_seconds_count",
        &[("kind", "Kustomization")],
    );
    at_least_one("fluxo_ingest_list_seconds_count", &[("kind", "Event")]);
    let rest = "fluxo_http_request_duration_seconds_count";
    at_least_one(rest, &[("operation", "listClusters"), ("status", "2xx")]);
    at_least_one(rest, &[("operation", "getCluster"), ("status", "4xx")]);
    at_least_one(rest, &[("operation", "none"), ("status", "4xx")]);
    let infinite = value(
        &samples,
        "fluxo_ingest_batch_commit_seconds_bucket",
        &[("le", "+Inf")],
    );
    assert_eq!(
        infinite,
        value(&samples, "fluxo_ingest_batch_commit_seconds_count", &[]),
        "the +Inf bucket counts every observation"
    );

    // Bounded labels: operations of the spec, kinds of the catalogue (and the workload watches,
    // one per workload kind and owner family), never a cluster.
    let spec: Value = serde_json::from_str(&flux_orchestrator::api::spec_json()).unwrap();
    let mut operations: BTreeSet<String> = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str().map(str::to_string))
        .collect();
    operations.insert("none".into());
    let kinds: BTreeSet<&str> = flux::FLUX_KINDS
        .iter()
        .map(|k| k.kind)
        .chain(["Event"])
        .chain(flux::WORKLOAD_WATCHES.iter().map(|w| w.name))
        .collect();
    for s in &samples {
        if let Some(op) = s.labels.get("operation") {
            assert!(operations.contains(op), "operation {op} is not in the spec");
        }
        if let Some(kind) = s.labels.get("kind") {
            assert!(
                kinds.contains(kind.as_str()),
                "kind {kind} is not a Flux kind or a workload watch"
            );
        }
        if s.name == "fluxo_cluster_objects" {
            // The one per-cluster family (bounded by the registry), for dashboards by cluster.
            assert_eq!(
                s.labels.get("cluster").map(String::as_str),
                Some("metrics-alpha")
            );
            continue;
        }
        for value in s.labels.values() {
            assert!(
                !value.contains("metrics-alpha") && !value.contains(&id.to_string()),
                "{} names the cluster",
                s.name
            );
        }
    }
}
