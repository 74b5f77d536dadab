//! Migrations, start-up rules and database outages: the command line and SIGTERM against the
//! real binary, outages against the server in this process.

use std::time::Duration;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::process::{ServerProcess, run_bin};
use crate::support::proxy::Proxy;

#[tokio::test]
async fn two_migrations_at_once_both_succeed_and_apply_each_file_once() {
    let db = TestDb::create().await;
    let url = db.url();
    let args = ["migrate", "--database-url", url.as_str()];
    let (a, b) = tokio::join!(run_bin(&args, &[]), run_bin(&args, &[]));
    assert!(a.0, "first migrate failed: {}", a.1);
    assert!(b.0, "second migrate failed: {}", b.1);
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT version, count(*) FROM schema_migrations GROUP BY version",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), flux_orchestrator::store::MIGRATIONS.len());
    assert!(rows.iter().all(|r| r.get::<_, i64>(1) == 1));

    let (ok, out) = run_bin(&args, &[]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("applied=0"),
        "a third run applies nothing: {out}"
    );
}

#[tokio::test]
async fn an_edited_migration_refuses_to_start_with_a_clear_message() {
    let db = TestDb::create().await;
    let url = db.url();
    let (ok, out) = run_bin(&["migrate", "--database-url", &url], &[]).await;
    assert!(ok, "{out}");
    db.client()
        .await
        .execute(
            "UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 1",
            &[],
        )
        .await
        .unwrap();
    let (ok, out) = run_bin(&["migrate", "--database-url", &url], &[]).await;
    assert!(!ok);
    assert!(
        out.contains("migration 1 (clusters) was changed after it was applied"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &url,
        "--dev-secret-key-file",
        key.to_str().unwrap(),
    ];
    let serve = run_bin(&args, &[]);
    let (ok, out) = tokio::time::timeout(Duration::from_secs(20), serve)
        .await
        .expect("serve exits");
    assert!(!ok, "serve must not run on an edited schema");
    assert!(out.contains("was changed after it was applied"), "{out}");
}

#[tokio::test]
async fn serve_refuses_to_start_without_a_secret_key() {
    let (ok, out) = run_bin(
        &["serve", "--database-url", "postgres://x@127.0.0.1:1/x"],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(out.contains("FLUXO_SECRET_KEY is required"), "{out}");
    let (ok, out) = run_bin(
        &["serve", "--database-url", "postgres://x@127.0.0.1:1/x"],
        &[("FLUXO_SECRET_KEY", "dG9vIHNob3J0")],
    )
    .await;
    assert!(!ok);
    assert!(out.contains("32 bytes"), "{out}");
    assert!(
        !out.contains("dG9vIHNob3J0"),
        "the key is never echoed: {out}"
    );
}

#[tokio::test]
async fn readyz_fails_while_the_database_is_down_and_recovers() {
    let db = TestDb::create().await;
    let proxy = Proxy::start(format!("{}:{}", db.host, db.port)).await;
    let via_proxy = db.url_via("127.0.0.1", proxy.addr.port());
    let server = TestServer::start_with(&via_proxy, &["--db-timeout-secs", "1"]).await;
    server.wait_ready().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .default_headers(server.auth_headers())
        .build()
        .unwrap();

    proxy.down();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let r = http.get(server.url("/readyz")).send().await.unwrap();
        if r.status() == 503 {
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["code"], "database_unavailable");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "readyz stayed ready with the database down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        http.get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "alive while the database is down"
    );
    let r = http
        .get(server.url("/api/v1/clusters"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "database_unavailable");

    proxy.up();
    server.wait_ready().await;
    assert_eq!(
        http.get(server.url("/api/v1/clusters"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn serve_waits_for_a_database_that_is_down_at_start() {
    let db = TestDb::create().await;
    let proxy = Proxy::start(format!("{}:{}", db.host, db.port)).await;
    proxy.down();
    let via_proxy = db.url_via("127.0.0.1", proxy.addr.port());
    let server = TestServer::start_with(&via_proxy, &["--db-timeout-secs", "1"]).await;
    let r = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(r.status(), 503);
    server
        .wait_for_log("database unreachable; retrying", Duration::from_secs(10))
        .await;
    proxy.up();
    server.wait_ready().await;
}

#[tokio::test]
async fn sigterm_shuts_the_server_down_cleanly() {
    let db = TestDb::create().await;
    let server = ServerProcess::start(&db.url(), &[], &[], None).await;
    server.wait_ready().await;
    let status = server.terminate().await;
    assert!(status.success(), "exit status {status}");
}
