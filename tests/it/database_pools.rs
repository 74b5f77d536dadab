//! API reads cannot exhaust the database: selectors and repeated filters are capped (400 before
//! any SQL runs), API reads run on a pool of their own under a statement timeout, and ingest,
//! authentication and the registry keep their connections while that pool is saturated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fluxo_sim::{ChurnOptions, spawn_churn};
use serde_json::Value;
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::{self, FAST_INGEST, register_unreachable};
use crate::support::seed;

/// `key notin (v0,…,v{n-1})`.
fn notin(key: &str, prefix: &str, n: usize, tail: &[&str]) -> String {
    let mut values: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    values.extend(tail.iter().map(|v| v.to_string()));
    format!("{key} notin ({})", values.join(","))
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, Value, Duration) {
    let start = Instant::now();
    let r = http.get(url).send().await.expect("request");
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body, start.elapsed())
}

#[tokio::test]
async fn selectors_and_filters_over_their_limits_are_refused_at_once() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let http = server.http();
    let list = |query: String| server.url(&format!("/api/v1/resources?{query}"));
    // The review's selector (9,000 values, a 54 KB URL) no longer reaches the API: the
    // transport refuses request heads over 16 KiB (431). One that fits the head but not the
    // selector's own length limit is refused by the selector parser, before any parsing.
    let values: Vec<String> = (0..9_000).map(|i| format!("v{i}")).collect();
    let huge = format!("team in ({})", values.join(","));
    let (status, _, took) = get(&http, &list(format!("label={huge}"))).await;
    assert_eq!(status, 431);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let values: Vec<String> = (0..1_500).map(|i| format!("v{i}")).collect();
    let long = format!("team in ({})", values.join(","));
    let (status, body, took) = get(&http, &list(format!("label={long}"))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_selector")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("at most 4096"),
        "{body}"
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");

    let cases = [
        (
            format!("label={}", notin("team", "v", 101, &[])),
            "invalid_selector",
            "at most 100",
        ),
        (
            (0..21)
                .map(|i| format!("label=k{i}"))
                .collect::<Vec<_>>()
                .join("&"),
            "invalid_selector",
            "at most 20",
        ),
        (
            (0..101)
                .map(|i| format!("namespace=n{i}"))
                .collect::<Vec<_>>()
                .join("&"),
            "too_many_values",
            "`namespace` has 101",
        ),
    ];
    for (query, code, needle) in cases {
        let (status, body, _) = get(&http, &list(query)).await;
        assert_eq!((status, body["code"].as_str()), (400, Some(code)), "{body}");
        assert!(body["message"].as_str().unwrap().contains(needle), "{body}");
    }
    let clusters = (0..101)
        .map(|i| format!("cluster=c{i}"))
        .collect::<Vec<_>>();
    for path in ["/api/v1/changes", "/api/v1/events"] {
        let url = server.url(&format!("{path}?{}", clusters.join("&")));
        let (status, body, _) = get(&http, &url).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("too_many_values")),
            "{body}"
        );
    }
    // At the limits, the same filters are served.
    let at_limit = format!("label={}", notin("team", "v", 100, &[]));
    let (status, body, _) = get(&http, &list(at_limit)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_api_read_cancelled_by_the_statement_timeout_is_503_query_timeout() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), &["--db-api-statement-timeout-ms", "20"]).await;
    server.wait_ready().await;
    let store = db.store();
    let seeded = register_unreachable(&server, "seeded").await;
    seed::seed(&store, seeded, 2_000).await;
    let selector = (0..8)
        .map(|k| notin(&format!("k{k}"), "v", 100, &[]))
        .collect::<Vec<_>>()
        .join(",");
    let url = format!(
        "{}?{}",
        server.url("/api/v1/resources"),
        serde_urlencoded::to_string([("label", &selector)]).unwrap()
    );
    let http = server.http();
    let (status, body, _) = get(&http, &url).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("query_timeout")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("narrow the filters"),
        "{body}"
    );
    // The timeout is the API pool's: the registry, on the main pool, is not limited by it.
    let (status, body, _) = get(&http, &server.url("/api/v1/clusters")).await;
    assert_eq!(status, 200, "{body}");
}

/// The value of the series `name` (with its labels) in `/metrics`.
async fn metric(server: &TestServer, name: &str) -> f64 {
    let text = server
        .http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

/// Seconds callers waited for connections of `pool` so far.
async fn waited(server: &TestServer, pool: &str) -> f64 {
    let name = format!("fluxo_db_pool_wait_seconds_total{{pool=\"{pool}\"}}");
    metric(server, &name).await
}

/// What the probes saw while the heavy readers ran.
#[derive(Debug, Default)]
struct Seen {
    /// Seconds callers waited for a connection of the main (ingest) pool.
    main_pool_wait: f64,
    /// Seconds callers waited for a connection of the API pool.
    api_pool_wait: f64,
    /// Slowest `GET /api/v1/clusters`.
    slowest_normal: Duration,
    /// Normal requests that did not answer 200.
    normal_failures: Vec<u16>,
    /// Longest time the sim cluster's change log did not advance.
    longest_ingest_gap: Duration,
    /// Heavy requests by status and code.
    heavy: std::collections::BTreeMap<String, usize>,
}

/// `readers` clients sending `url` back to back until `stop`.
fn heavy_readers(
    http: &reqwest::Client,
    url: String,
    readers: usize,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<String>>> {
    (0..readers)
        .map(|_| {
            let (http, url, stop) = (http.clone(), url.clone(), stop.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let (status, body, _) = get(&http, &url).await;
                    outcomes.push(format!("{status} {}", body["code"].as_str().unwrap_or("")));
                }
                outcomes
            })
        })
        .collect()
}

/// Probe normal requests and the change log of `cluster` until `window` has passed.
async fn probe(
    server: &TestServer,
    db: &tokio_postgres::Client,
    cluster: Uuid,
    window: Duration,
    seen: &mut Seen,
) {
    let http = server.http();
    let url = server.url("/api/v1/clusters");
    let head = "SELECT coalesce(max(seq), 0) FROM resource_changes WHERE cluster_id = $1";
    let (start, mut last_seq, mut last_advance) = (Instant::now(), 0i64, Instant::now());
    while start.elapsed() < window {
        let (status, _, took) = get(&http, &url).await;
        seen.slowest_normal = seen.slowest_normal.max(took);
        if status != 200 {
            seen.normal_failures.push(status);
        }
        let seq: i64 = db.query_one(head, &[&cluster]).await.unwrap().get(0);
        if seq > last_seq {
            (last_seq, last_advance) = (seq, Instant::now());
        }
        seen.longest_ingest_gap = seen.longest_ingest_gap.max(last_advance.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// Several threads: the probes must not queue behind the readers' and the simulator's work in
// the test process itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_api_reads_cannot_make_normal_requests_or_ingest_wait() {
    let db = TestDb::create().await;
    let sim = fleet::sim("live", 2).await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let store = db.store();
    let seeded = register_unreachable(&server, "seeded").await;
    seed::seed(&store, seeded, 10_000).await;
    let live = fleet::register(&server, "live", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    fleet::wait_in_sync(&client, live, &sim, Duration::from_secs(60)).await;
    let churn = spawn_churn(
        &sim,
        ChurnOptions {
            rate: 20.0,
            ..ChurnOptions::default()
        },
    );

    // Allowed, and as costly as the limits let it be: eight sets of absent keys (every row
    // passes after 100 tests each), then a set that rejects every row only at its end.
    let mut terms: Vec<String> = (0..8)
        .map(|k| notin(&format!("k{k}"), "v", 100, &[]))
        .collect();
    terms.push(notin("team", "w", 96, &["a", "b", "c", "d"]));
    let selector = terms.join(",");
    assert!(selector.len() <= 4096, "{} bytes", selector.len());
    let url = format!(
        "{}?{}",
        server.url("/api/v1/resources"),
        serde_urlencoded::to_string([("label", &selector)]).unwrap()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let readers = heavy_readers(&server.http(), url, 8, stop.clone());
    let mut seen = Seen::default();
    let before = (waited(&server, "main").await, waited(&server, "api").await);
    probe(&server, &client, live, Duration::from_secs(8), &mut seen).await;
    seen.main_pool_wait = waited(&server, "main").await - before.0;
    seen.api_pool_wait = waited(&server, "api").await - before.1;
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        for outcome in reader.await.unwrap() {
            *seen.heavy.entry(outcome).or_default() += 1;
        }
    }
    churn.stop().await;
    eprintln!("{seen:?}");
    // The readers kept the API pool saturated: callers queued for its connections.
    assert!(seen.api_pool_wait > 5.0, "{seen:?}");
    // Nobody queued for the main pool's: the writer, authentication and the registry never
    // waited for a connection. (Latencies below are loose: the readers still take the
    // database's CPU, shared with everything on a 2-core test machine.)
    assert!(seen.main_pool_wait < 1.0, "{seen:?}");
    assert!(seen.normal_failures.is_empty(), "{seen:?}");
    assert!(
        seen.slowest_normal < Duration::from_millis(2500),
        "{seen:?}"
    );
    assert!(seen.longest_ingest_gap < Duration::from_secs(4), "{seen:?}");
    assert!(
        seen.heavy
            .keys()
            .all(|k| k.starts_with("200") || k.starts_with("503")),
        "heavy readers get pages or 503s, nothing else: {seen:?}"
    );
}
