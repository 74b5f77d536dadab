//! Reads from a PostgreSQL hot standby (`FLUXO_READ_DATABASE_URL`), against a real primary
//! and standby pair (`support::standby`): API reads answer from the standby with the position
//! they reflect, a lagging standby reports its own older position, a standby that goes away
//! leaves the reads to the primary (logged once, and once when it is back); and the
//! connections a running replica opens are the ones the connection budget counts.

use std::collections::BTreeMap;
use std::time::Duration;

use flux_orchestrator::store::Store;
use serde_json::Value;
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::store;
use crate::support::fleet::register_unreachable;
use crate::support::process::run_bin;
use crate::support::seed::{self, Seeded};
use crate::support::standby::Pair;

/// The pair, a server reading from its standby, and a store writing to its primary.
struct Env {
    server: TestServer,
    http: reqwest::Client,
    /// Writes through the real writer, under its own `application_name`.
    writer: Store,
    cluster: Uuid,
    pair: Pair,
}

async fn start(extra: &[&str]) -> Env {
    let pair = Pair::start().await;
    let standby = pair.standby_url();
    let mut args = vec!["--read-database-url", standby.as_str()];
    args.extend(extra);
    let server = TestServer::start_with(&pair.primary_url(), &args).await;
    server.wait_ready().await;
    let writer = store(&format!("{}?application_name=seeder", pair.primary_url()));
    let cluster = register_unreachable(&server, "prod").await;
    let http = server.http();
    Env {
        server,
        http,
        writer,
        cluster,
        pair,
    }
}

impl Env {
    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(self.server.url(path))
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("json");
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// The live list: its item names and the position it says it reflects.
    async fn list(&self) -> (Vec<String>, i64) {
        let body = self.get("/api/v1/resources?sort=name&limit=100").await;
        let names = body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|r| r["name"].as_str().expect("name").to_string())
            .collect();
        (names, body["seq"].as_i64().expect("seq on a live list"))
    }

    /// The live list once it shows exactly `want` (a replayed commit can take a moment more
    /// to be visible to the server's standby connection), and the position it says it reflects.
    async fn list_showing(&self, want: &[String]) -> i64 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (listed, seq) = self.list().await;
            if listed == want {
                return seq;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the list shows {listed:?}, not {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The primary's change-log head.
    async fn primary_head(&self) -> i64 {
        let client = self.pair.client(self.pair.primary, "fluxo").await;
        let row = client
            .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
            .await
            .expect("head");
        row.get(0)
    }

    async fn metric(&self, name: &str) -> f64 {
        let text = self
            .http
            .get(self.server.url("/metrics"))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    }
}

fn names(objects: &[Seeded]) -> Vec<String> {
    objects.iter().map(|s| s.name.clone()).collect()
}

#[tokio::test]
async fn reads_come_from_the_standby_and_a_lagging_standby_reports_its_own_older_seq() {
    let env = start(&[]).await;
    let objects = seed::seed(&env.writer, env.cluster, 3).await;
    env.pair.wait_replicated().await;
    let seq = env.list_showing(&names(&objects)).await;
    let head = env.primary_head().await;
    assert_eq!(seq, head, "a caught-up standby is at the primary's head");
    assert_eq!(env.metric("fluxo_db_reads_on_standby").await, 1.0);
    assert!(
        env.metric(r#"fluxo_db_pool_acquired_total{pool="read"}"#)
            .await
            > 0.0
    );

    // Replay paused: the primary moves on, the standby does not.
    env.pair.pause_replay(true).await;
    let mut changed = objects[0].clone();
    changed.object["metadata"]["labels"]["rev"] = "2".into();
    let added = seed::seeded(env.cluster, 3);
    seed::write(&env.writer, &[changed.upsert(), added.upsert()]).await;
    let newer = env.primary_head().await;
    assert!(newer > head);
    let (listed, seq) = env.list().await;
    assert_eq!(
        listed,
        names(&objects),
        "the standby has not replayed the write"
    );
    assert_eq!(
        seq, head,
        "the answer says it reflects the standby's older position"
    );
    let detail = env
        .get(&format!("/api/v1/resources/{}", objects[0].id))
        .await;
    assert!(
        detail["resource"]["seq"].as_i64().unwrap() <= seq,
        "{detail}"
    );
    let history = env
        .get(&format!("/api/v1/resources/{}/changes", objects[0].id))
        .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1, "{history}");
    env.get("/api/v1/timeline").await;

    env.pair.pause_replay(false).await;
    env.pair.wait_replicated().await;
    let mut all = objects.clone();
    all.push(added);
    let seq = env.list_showing(&names(&all)).await;
    assert_eq!(seq, newer);
    let history = env
        .get(&format!("/api/v1/resources/{}/changes", objects[0].id))
        .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 2, "{history}");
}

#[tokio::test]
async fn reads_answer_from_the_primary_while_the_standby_is_down_and_the_log_says_so_once() {
    let env = start(&[]).await;
    let objects = seed::seed(&env.writer, env.cluster, 2).await;
    env.pair.wait_replicated().await;
    env.list_showing(&names(&objects)).await;

    env.pair.kill_standby().await;
    let added = seed::seeded(env.cluster, 2);
    seed::write(&env.writer, &[added.upsert()]).await;
    let head = env.primary_head().await;
    for _ in 0..5 {
        let (listed, seq) = env.list().await;
        assert_eq!(listed.len(), 3, "the primary answers, with the write");
        assert_eq!(seq, head);
        env.get(&format!("/api/v1/resources/{}", objects[0].id))
            .await;
    }
    let logs = env.server.logs();
    let down = "the read standby is unreachable";
    assert_eq!(logs.matches(down).count(), 1, "{logs}");
    assert_eq!(env.metric("fluxo_db_reads_on_standby").await, 0.0);
    assert!(env.metric("fluxo_db_standby_fallback_reads_total").await >= 5.0);

    env.pair.restart_standby().await;
    env.pair.wait_replicated().await;
    // One read per retry delay tries the standby again.
    let back = "the read standby answers again";
    for _ in 0..50 {
        env.list().await;
        if env.server.logs().contains(back) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let logs = env.server.logs();
    assert_eq!(logs.matches(back).count(), 1, "{logs}");
    assert_eq!(logs.matches(down).count(), 1, "{logs}");
    assert_eq!(env.metric("fluxo_db_reads_on_standby").await, 1.0);
}

/// The roles whose connections the budget counts (`store::Role`), by `application_name`.
const POOLED: [(&str, usize); 2] = [("flux-orchestrator/main", 4), ("flux-orchestrator/api", 3)];
const DEDICATED: [&str; 3] = [
    "flux-orchestrator/listener",
    "flux-orchestrator/claims",
    "flux-orchestrator/notify-engine",
];

/// The server's connections to database `fluxo` on the server at `port`, by
/// `application_name` (the test's own and the seeding store's left out).
async fn connections(pair: &Pair, port: u16) -> BTreeMap<String, usize> {
    let client = pair.client(port, "postgres").await;
    let rows = client
        .query(
            "SELECT application_name, count(*) FROM pg_stat_activity \
             WHERE datname = 'fluxo' AND application_name <> 'fluxo-test' \
               AND application_name NOT LIKE 'seeder/%' GROUP BY 1",
            &[],
        )
        .await
        .expect("pg_stat_activity");
    rows.iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1) as usize))
        .collect()
}

#[tokio::test]
async fn a_running_replica_opens_exactly_the_connections_the_budget_counts() {
    let env = start(&["--db-pool-size", "4", "--db-api-pool-size", "3"]).await;
    seed::seed(&env.writer, env.cluster, 5).await;
    env.pair.wait_replicated().await;
    // Concurrent reads open the read pool; the server's own work opens the main pool.
    let reads = (0..6).map(|_| env.list());
    futures::future::join_all(reads).await;
    let mut primary = BTreeMap::new();
    for _ in 0..100 {
        primary = connections(&env.pair, env.pair.primary).await;
        if DEDICATED.iter().all(|d| primary.contains_key(*d)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for role in DEDICATED {
        assert_eq!(primary.get(role), Some(&1), "{role}: {primary:?}");
    }
    for (role, size) in POOLED {
        assert!(
            primary.get(role).is_none_or(|n| *n <= size),
            "{role}: {primary:?}"
        );
    }
    let known: Vec<&str> = DEDICATED
        .iter()
        .copied()
        .chain(POOLED.map(|p| p.0))
        .collect();
    let unknown: Vec<_> = primary
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "connections the budget does not count: {unknown:?}"
    );
    let total: usize = primary.values().sum();
    // 4 + 3 + 3: the budget's sum for these pool sizes (`DbConfig::connections`).
    assert!(total <= 10, "{primary:?}");

    let standby = connections(&env.pair, env.pair.standby).await;
    let reads = standby.get("flux-orchestrator/read").copied().unwrap_or(0);
    assert!((1..=3).contains(&reads), "{standby:?}");
    assert_eq!(
        standby.len(),
        1,
        "only the read pool uses the standby: {standby:?}"
    );
}

#[tokio::test]
async fn pools_over_the_connection_budget_or_a_bad_standby_url_stop_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    let env = [("FLUXO_DEV_SECRET_KEY_FILE", key.to_str().unwrap())];
    let cases: [(&[&str], &str); 3] = [
        (
            &["--db-pool-size", "30"],
            "may open 41 connections to the primary database",
        ),
        (
            &[
                "--db-api-pool-size",
                "40",
                "--read-database-url",
                "postgres://u@127.0.0.1:1/x",
            ],
            "may open 59 connections to the primary database",
        ),
        (
            &[
                "--read-database-url",
                "postgres://u:secret@127.0.0.1:1/x?sslmode=verify",
            ],
            "FLUXO_READ_DATABASE_URL: invalid database settings: sslmode \"verify\"",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend(["--database-url", "postgres://u@127.0.0.1:1/x"]);
        args.extend(extra);
        let serve = run_bin(&args, &env);
        let (ok, out) = tokio::time::timeout(Duration::from_secs(20), serve)
            .await
            .expect("serve exits");
        assert!(!ok && out.contains(needle), "{extra:?}: {out}");
        assert!(!out.contains("secret"), "{out}");
    }
}
