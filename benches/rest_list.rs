//! REST list latency over 100,000 resources. Seeds them through the real write path
//! (`Store::write_batch`) into a fresh database on the server at `DATABASE_URL`, starts the real
//! server, and measures p50/p99 of filtered, keyset-paginated `GET /api/v1/resources` requests
//! through HTTP: first pages (which also count the `total`) and continuation pages, per filter.
//!
//! `DATABASE_URL=postgres://… cargo bench --bench rest_list`
//! Env: `REST_BENCH_ROWS` (default 100000), `REST_BENCH_REQUESTS` per shape and page kind
//! (default 100), `REST_BENCH_EXTRA_INDEXES=1` to also measure with the indexes proposed in
//! the report (created in the bench database only).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/resources_api/seed.rs"]
mod seed;

use std::time::{Duration, Instant};

use common::{TestDb, TestServer, token_kubeconfig};
use serde_json::{Value, json};
use uuid::Uuid;

const CLUSTERS: usize = 20;
const NAMESPACES: usize = 40;

/// Indexes the schema does not have, proposed in the report: the `updated` sort, and trigram
/// indexes for the `q` substring search.
const EXTRA_INDEXES: &str = "CREATE INDEX IF NOT EXISTS bench_updated_idx ON flux_resources (updated_at, id);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS bench_name_trgm_idx ON flux_resources USING gin (name gin_trgm_ops);
CREATE INDEX IF NOT EXISTS bench_message_trgm_idx ON flux_resources USING gin (message gin_trgm_ops);
ANALYZE flux_resources;";

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

struct Bench {
    http: reqwest::Client,
    server: TestServer,
    requests: usize,
}

impl Bench {
    async fn get(&self, path: &str) -> (Duration, Value) {
        let start = Instant::now();
        let r = self
            .http
            .get(self.server.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{path}");
        let body: Value = r.json().await.expect("json");
        (start.elapsed(), body)
    }

    /// Latencies of first pages and of the pages after them (walking on, wrapping around).
    async fn shape(&self, query: &str) -> (i64, Vec<Duration>, Vec<Duration>) {
        let first_path = format!("/api/v1/resources?{query}&limit=100");
        let (_, first) = self.get(&first_path).await;
        let total = first["total"].as_i64().unwrap_or(0);
        let (mut firsts, mut nexts) = (Vec::new(), Vec::new());
        for _ in 0..self.requests {
            firsts.push(self.get(&first_path).await.0);
        }
        let mut token = first["continue"].as_str().map(str::to_string);
        while nexts.len() < self.requests {
            let Some(t) = token.take() else {
                token = first["continue"].as_str().map(str::to_string);
                if token.is_none() {
                    break;
                }
                continue;
            };
            let (took, page) = self.get(&format!("{first_path}&continue={t}")).await;
            nexts.push(took);
            token = page["continue"].as_str().map(str::to_string);
        }
        (total, firsts, nexts)
    }

    /// Prints one row per shape; returns the latencies of filtered first and later pages.
    async fn table(&self, shapes: &[(&str, String)]) -> (Vec<Duration>, Vec<Duration>) {
        println!(
            "{:<34} {:>7} {:>9} {:>9} {:>9} {:>9}",
            "filter", "matches", "1st p50", "1st p99", "next p50", "next p99"
        );
        let (mut all_firsts, mut all_nexts) = (Vec::new(), Vec::new());
        for (label, query) in shapes {
            let (total, mut firsts, mut nexts) = self.shape(query).await;
            firsts.sort();
            nexts.sort();
            let next = |q| {
                if nexts.is_empty() {
                    f64::NAN
                } else {
                    percentile(&nexts, q)
                }
            };
            println!(
                "{label:<34} {total:>7} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>7.1}ms",
                percentile(&firsts, 0.5),
                percentile(&firsts, 0.99),
                next(0.5),
                next(0.99)
            );
            if !label.starts_with('*') {
                all_firsts.extend(firsts);
                all_nexts.extend(nexts);
            }
        }
        all_firsts.sort();
        all_nexts.sort();
        (all_firsts, all_nexts)
    }
}

/// Overall percentiles of first pages (with `total`), later pages, and both.
fn summary(what: &str, (firsts, nexts): (Vec<Duration>, Vec<Duration>)) {
    let mut both: Vec<Duration> = firsts.iter().chain(&nexts).copied().collect();
    both.sort();
    for (name, times) in [
        ("first pages", &firsts),
        ("later pages", &nexts),
        ("all pages", &both),
    ] {
        println!(
            "{what}, {name}: p50 {:.1} ms, p99 {:.1} ms (n={})",
            percentile(times, 0.5),
            percentile(times, 0.99),
            times.len()
        );
    }
}

async fn seed_fleet(bench: &Bench, db: &TestDb, rows: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for c in 0..CLUSTERS {
        let body = json!({"name": format!("cluster-{c:02}"), "kubeconfig": token_kubeconfig("https://127.0.0.1:1", "t0ken")});
        let r = bench
            .http
            .post(bench.server.url("/api/v1/clusters"))
            .json(&body)
            .send()
            .await
            .expect("create");
        let v: Value = r.json().await.expect("json");
        ids.push(
            v["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("cluster id"),
        );
    }
    let store = seed::store(&db.url());
    let start = Instant::now();
    let per_cluster = rows / CLUSTERS;
    for cluster in &ids {
        let ops: Vec<_> = (0..per_cluster)
            .map(|i| seed::seeded_in(*cluster, i, &format!("team-{:02}", i % NAMESPACES)).upsert())
            .collect();
        seed::write(&store, &ops).await;
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "seeded {} resources through write_batch in {took:.1} s ({:.0}/s)",
        per_cluster * CLUSTERS,
        (per_cluster * CLUSTERS) as f64 / took
    );
    db.client()
        .await
        .batch_execute("ANALYZE")
        .await
        .expect("analyze");
    ids
}

fn shapes(cluster: Uuid) -> Vec<(&'static str, String)> {
    vec![
        ("cluster (by name)", "cluster=cluster-07".into()),
        (
            "cluster (by id), -updated",
            format!("cluster={cluster}&sort=-updated"),
        ),
        ("health=failed", "health=failed".into()),
        (
            "health=failed,stalled -updated",
            "health=failed&health=stalled&sort=-updated".into(),
        ),
        ("kind=hr, namespace", "kind=hr&namespace=team-03".into()),
        (
            "cluster+kind+health",
            "cluster=cluster-03&kind=ks&health=failed".into(),
        ),
        ("label env=prod", "label=env%3Dprod".into()),
        ("label team=b + kind=ks", "label=team%3Db&kind=ks".into()),
        ("kind=ks, sort=health", "kind=ks&sort=health".into()),
        ("q=app-12 + cluster", "q=app-12&cluster=cluster-11".into()),
        ("* unfiltered, name", "sort=name".into()),
        ("* unfiltered, -updated", "sort=-updated".into()),
        ("* q=app-12 alone", "q=app-12".into()),
    ]
}

#[tokio::main]
async fn main() {
    let rows = env_or("REST_BENCH_ROWS", 100_000);
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let bench = Bench {
        http: server.http(),
        server,
        requests: env_or("REST_BENCH_REQUESTS", 100),
    };
    let clusters = seed_fleet(&bench, &db, rows).await;
    let shapes = shapes(clusters[5]);
    for (_, query) in &shapes {
        bench.shape(query).await;
    }
    println!(
        "\nGET /api/v1/resources, limit=100, sequential requests ({} per column):",
        bench.requests
    );
    summary("filtered (rows without *)", bench.table(&shapes).await);
    let (_, one) = bench
        .get("/api/v1/resources?cluster=cluster-01&kind=ks&limit=1")
        .await;
    let detail = format!(
        "/api/v1/resources/{}",
        one["items"][0]["id"].as_str().expect("an id")
    );
    for (label, path) in [("stats", "/api/v1/stats".to_string()), ("detail", detail)] {
        let mut times = Vec::new();
        for _ in 0..20 {
            times.push(bench.get(&path).await.0);
        }
        times.sort();
        println!(
            "{label}: p50 {:.1} ms, p99 {:.1} ms",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
    if std::env::var("REST_BENCH_EXTRA_INDEXES").is_ok_and(|v| v == "1") {
        db.client()
            .await
            .batch_execute(EXTRA_INDEXES)
            .await
            .expect("indexes");
        println!("\nwith extra indexes (updated_at, id) and pg_trgm on name and message:");
        summary("filtered (rows without *)", bench.table(&shapes).await);
    }
}
