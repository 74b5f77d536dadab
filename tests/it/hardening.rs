//! Regression tests for the adversarial review of issue 13: each one failed on the code before
//! the fix. Scope bypasses by path shape are in `auth_matrix.rs`; this file has the rest of the
//! guard: deleted objects' history, revocation of open streams, `--auth=none`, audit flooding,
//! retention and export, the bootstrap token's lifecycle, credential guessing, the start-up
//! window, and scoped and limited streams.

use std::time::Duration;

use futures::SinkExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::{client_with, create_token};
use crate::support::fleet::register_team;
use crate::support::process::run_bin;
use crate::support::proxy::Proxy;
use crate::support::stream::{self, Client, kustomization, upsert, write, ws_url};

async fn audit_count(db: &TestDb, operation: &str) -> i64 {
    db.client()
        .await
        .query_one(
            "SELECT count(*) FROM audit_log WHERE operation = $1",
            &[&operation],
        )
        .await
        .unwrap()
        .get(0)
}

/// Read until the server closes; the close code, or `None` if it did not close in `wait`.
async fn close_code(client: &mut Client, wait: Duration) -> Option<CloseCode> {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, client.ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| f.code),
            Ok(Some(Ok(_))) => {}
            Ok(_) => return Some(CloseCode::Abnormal),
        }
    }
}

#[tokio::test]
async fn a_deleted_objects_history_stays_inside_its_clusters_scope() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let pay = register_team(&server, "pay", "payments").await;
    let search = register_team(&server, "search", "search").await;
    let st = db.store();
    write(&st, vec![upsert(pay, &kustomization("apps", "a", true, 1))]).await;
    write(
        &st,
        vec![upsert(search, &kustomization("apps", "b", true, 1))],
    )
    .await;
    let id = |c: Uuid, name: &str| {
        flux_orchestrator::store::resource_id(
            c,
            "kustomize.toolkit.fluxcd.io",
            "Kustomization",
            "apps",
            name,
        )
    };
    let (ours, theirs) = (id(pay, "a"), id(search, "b"));
    // Both objects are deleted: only the change log and events still place them.
    for (c, r) in [(pay, ours), (search, theirs)] {
        db.client()
            .await
            .execute(
                "DELETE FROM flux_resources WHERE cluster_id = $1 AND id = $2",
                &[&c, &r],
            )
            .await
            .unwrap();
    }
    let (scoped, _) =
        create_token(&server, "payments", "viewer", json!({"team": "payments"})).await;
    let http = client_with(&scoped);
    for part in ["changes", "events"] {
        let get = |r: Uuid| {
            http.get(server.url(&format!("/api/v1/resources/{r}/{part}")))
                .send()
        };
        assert_eq!(
            get(ours).await.unwrap().status(),
            200,
            "{part} of our own object"
        );
        let status = get(theirs).await.unwrap().status();
        assert!(
            matches!(status.as_u16(), 403 | 404),
            "{part} of the other team's object: {status}"
        );
        let unknown = get(Uuid::new_v4()).await.unwrap().status();
        assert_eq!(unknown, 404, "{part} of an unknown id");
    }
    // A deleted cluster's objects cannot be placed at all: scoped callers are refused.
    assert_eq!(
        server
            .http()
            .delete(server.url(&format!("/api/v1/clusters/{pay}")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let gone = http
        .get(server.url(&format!("/api/v1/resources/{ours}/changes")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(gone, 404, "history of a deleted cluster, scoped");
    let admin = server
        .http()
        .get(server.url(&format!("/api/v1/resources/{ours}/changes")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(admin, 200, "history of a deleted cluster, unscoped");
}

#[tokio::test]
async fn open_streams_close_when_their_token_is_revoked_or_their_session_ends() {
    let db = TestDb::create().await;
    let server = stream::start_server(&db.url(), &["--stream-heartbeat-ms", "200"]).await;
    let (viewer, id) = create_token(&server, "viewer", "viewer", Value::Null).await;
    let mut client = Client::connect_as(&server, &viewer).await;
    client.subscribe(None, json!({})).await;
    let revoke = server
        .http()
        .delete(server.url(&format!("/api/v1/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    assert_eq!(
        close_code(&mut client, Duration::from_secs(10)).await,
        Some(CloseCode::Policy),
        "a revoked token's stream closes with 1008"
    );

    // A browser session: logging out ends its stream.
    let (viewer, _) = create_token(&server, "viewer-2", "viewer", Value::Null).await;
    let login = reqwest::Client::new()
        .post(server.url("/api/v1/session"))
        .json(&json!({"token": viewer}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let mut request = ws_url(&server).into_client_request().unwrap();
    let h = request.headers_mut();
    h.insert("cookie", cookie.parse().unwrap());
    h.insert("origin", server.base.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut client = Client { ws };
    client.subscribe(None, json!({})).await;
    let logout = reqwest::Client::new()
        .delete(server.url("/api/v1/session"))
        .header("cookie", &cookie)
        .header("origin", &server.base)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(
        close_code(&mut client, Duration::from_secs(10)).await,
        Some(CloseCode::Policy),
        "a logged-out session's stream closes with 1008"
    );
}

/// Send a raw HTTP/1.1 request and return the status code.
async fn raw_status(base: &str, request: &str) -> u16 {
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn without_authentication_only_loopback_hosts_and_our_own_pages_are_served() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), &["--auth", "none"]).await;
    server.wait_ready().await;
    let tokens = "/api/v1/tokens";
    let body = r#"{"name":"x","role":"admin"}"#;
    let post = |host: &str, origin: Option<&str>| {
        let origin = origin
            .map(|o| format!("Origin: {o}\r\n"))
            .unwrap_or_default();
        format!(
            "POST {tokens} HTTP/1.1\r\nHost: {host}\r\n{origin}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let own = format!("127.0.0.1:{port}");
    // DNS rebinding: the page's own host name reaches us.
    let rebound = raw_status(
        &server.base,
        &post(&format!("evil.example:{port}"), Some("http://evil.example")),
    )
    .await;
    assert_eq!(rebound, 403, "a request for another host name is refused");
    // A cross-site page posting to the loopback address.
    let cross = raw_status(&server.base, &post(&own, Some("http://evil.example"))).await;
    assert_eq!(cross, 403, "a cross-site browser request is refused");
    let same = raw_status(&server.base, &post(&own, Some(&format!("http://{own}")))).await;
    assert_eq!(same, 201, "our own page may");
    let tool = raw_status(&server.base, &post(&format!("localhost:{port}"), None)).await;
    assert_eq!(tool, 201, "a tool on this machine (no Origin) may");
    // A cross-site WebSocket.
    let mut request = ws_url(&server).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    assert!(refused.is_err(), "a cross-site stream is refused");
}

#[tokio::test]
async fn anonymous_requests_cannot_flood_the_audit_log() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), &["--login-rate-limit", "5"]).await;
    server.wait_ready().await;
    let anon = reqwest::Client::new();
    for _ in 0..30 {
        let r = anon
            .delete(server.url("/api/v1/session"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let r = anon
            .get(server.url("/auth/oidc/callback?code=x&state=y"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error());
    }
    assert_eq!(
        audit_count(&db, "deleteSession").await,
        0,
        "logouts without a session"
    );
    assert_eq!(
        audit_count(&db, "oidcCallback").await,
        0,
        "OIDC callbacks while OIDC is off"
    );
    let mut limited = 0;
    for _ in 0..40 {
        let r = anon
            .post(server.url("/api/v1/session"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            limited += 1;
        }
    }
    assert!(limited >= 30, "only {limited} of 40 rate-limited");
    let rows = audit_count(&db, "createSession").await + audit_count(&db, "loginRateLimited").await;
    assert!(
        rows <= 7,
        "{rows} audit rows for 40 anonymous login attempts"
    );
    assert_eq!(
        audit_count(&db, "loginRateLimited").await,
        1,
        "one row for the burst"
    );
}

#[tokio::test]
async fn the_audit_log_is_pruned_after_its_retention_and_exported_as_ndjson() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let (_, id) = create_token(&server, "made-for-audit", "viewer", Value::Null).await;
    let client = db.client().await;
    client
        .execute(
            "INSERT INTO audit_log (at, actor, auth_method, remote, operation, method, path, status, result) \
             VALUES (now() - interval '500 days', 'old', 'token', '127.0.0.1', 'createToken', 'POST', '/x', 201, 'ok')",
            &[],
        )
        .await
        .unwrap();
    let export = server
        .http()
        .get(server.url("/api/v1/audit/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/x-ndjson")
    );
    let text = export.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|l| l["actor"] == "old"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l["operation"] == "createToken" && l["status"] == 201)
    );
    let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first");
    // A reversed range is an empty one (the spec allows any two times; refusing them failed
    // schemathesis's "schema-valid request accepted").
    let reversed = server
        .http()
        .get(server.url("/api/v1/audit/export?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"))
        .send()
        .await
        .unwrap();
    assert_eq!(reversed.status(), 200);
    assert_eq!(
        reversed.text().await.unwrap(),
        "",
        "nothing is in a reversed range"
    );
    // A client that takes only downloads gets the same bytes labelled as one.
    let download = server
        .http()
        .get(server.url("/api/v1/audit/export"))
        .header("accept", "application/octet-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.headers()["content-type"],
        "application/octet-stream"
    );
    assert!(download.text().await.unwrap().lines().count() >= lines.len());
    let scoped = create_token(&server, "scoped", "admin", json!({"team": "x"}))
        .await
        .0;
    let r = client_with(&scoped)
        .get(server.url("/api/v1/audit/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "a scoped admin cannot export the fleet's audit log"
    );
    let _ = id;
    // A restart prunes at once: the 500-day-old row goes, this year's stay.
    drop(server);
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    stream::eventually("the old row is pruned", async || {
        let old: i64 = client
            .query_one("SELECT count(*) FROM audit_log WHERE actor = 'old'", &[])
            .await
            .unwrap()
            .get(0);
        old == 0
    })
    .await;
    assert!(
        audit_count(&db, "createToken").await >= 1,
        "recent rows stay"
    );
}

#[tokio::test]
async fn a_revoked_bootstrap_token_stays_revoked_and_a_rotated_one_ends_old_sessions() {
    let db = TestDb::create().await;
    let first = format!("bootstrap-{}", "a".repeat(40));
    let server = TestServer::start_with(&db.url(), &["--admin-token", &first]).await;
    server.wait_ready().await;
    let (backup, _) = create_token(&server, "backup-admin", "admin", Value::Null).await;
    let session = reqwest::Client::new()
        .post(server.url("/api/v1/session"))
        .json(&json!({"token": first}))
        .send()
        .await
        .unwrap();
    let cookie = session.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let whoami = |cookie: String, base: String| async move {
        reqwest::Client::new()
            .get(format!("{base}/api/v1/session"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(whoami(cookie.clone(), server.base.clone()).await, 200);

    // Rotate the variable: the old token and its session end.
    drop(server);
    let second = format!("bootstrap-{}", "b".repeat(40));
    let server = TestServer::start_with(&db.url(), &["--admin-token", &second]).await;
    server.wait_ready().await;
    assert_eq!(
        whoami(cookie, server.base.clone()).await,
        401,
        "session of the old value"
    );
    assert_eq!(
        client_with(&first)
            .get(server.url("/api/v1/tokens"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // Revoke the new one and restart with the same value: it stays revoked.
    let tokens: Value = client_with(&backup)
        .get(server.url("/api/v1/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let env_id = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["source"] == "env")
        .map(|t| t["id"].as_str().unwrap().to_string())
        .unwrap();
    let r = client_with(&backup)
        .delete(server.url(&format!("/api/v1/tokens/{env_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    drop(server);
    let server = TestServer::start_with(&db.url(), &["--admin-token", &second]).await;
    server.wait_ready().await;
    server
        .wait_for_log("REVOKED", Duration::from_secs(10))
        .await;
    assert_eq!(
        client_with(&second)
            .get(server.url("/api/v1/tokens"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Too short a value does not start at all.
    let key = tempfile::tempdir().unwrap();
    let key = key.path().join("key");
    let (ok, out) = run_bin(
        &[
            "serve",
            "--database-url",
            &db.url(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[
            ("FLUXO_ADMIN_TOKEN", "short-but-sixteen-chars"),
            ("FLUXO_DEV_SECRET_KEY_FILE", key.to_str().unwrap()),
        ],
    )
    .await;
    assert!(!ok && out.contains("at least 32"), "{out}");
}

#[tokio::test]
async fn guessing_bearer_tokens_is_limited_per_address_and_audited_once() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), &["--auth-failure-limit", "10"]).await;
    server.wait_ready().await;
    let mut statuses = Vec::new();
    for i in 0..25 {
        let guess = client_with(&format!("fluxo_guess{i:040}"));
        statuses.push(
            guess
                .get(server.url("/api/v1/resources"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    // Even the right token waits out the minute from that address: guesses stay useless.
    let right = server
        .http()
        .get(server.url("/api/v1/resources"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 429);
    assert_eq!(audit_count(&db, "credentialGuessing").await, 1);
}

#[tokio::test]
async fn requests_before_migrations_get_503_starting_not_500() {
    let db = TestDb::create().await;
    let proxy = Proxy::start(format!("{}:{}", db.host, db.port)).await;
    proxy.down();
    let server = TestServer::start(&db.url_via("127.0.0.1", proxy.addr.port())).await;
    let http = server.http();
    stream::eventually("the server answers", async || {
        http.get(server.url("/healthz")).send().await.is_ok()
    })
    .await;
    for path in ["/api/v1/resources", "/api/v1/tokens"] {
        let r = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 503, "{path}");
        assert_eq!(r.headers()["retry-after"], "1");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "starting");
    }
    let login = reqwest::Client::new()
        .post(server.url("/api/v1/session"))
        .json(&json!({"token": server.token()}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 503);
    assert_eq!(
        http.get(server.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the spec is served"
    );
    proxy.up();
    server.wait_ready().await;
    assert_eq!(
        http.get(server.url("/api/v1/resources"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_scoped_token_streams_only_its_clusters_and_loses_a_relabelled_one() {
    let db = TestDb::create().await;
    let server = stream::start_server(&db.url(), &[]).await;
    let pay = register_team(&server, "pay", "payments").await;
    let search = register_team(&server, "search", "search").await;
    let (scoped, _) =
        create_token(&server, "payments", "viewer", json!({"team": "payments"})).await;
    let mut client = Client::connect_as(&server, &scoped).await;
    let (_, snapshot) = client.subscribe(None, json!({})).await;
    let names: Vec<&str> = snapshot
        .iter()
        .filter_map(|m| m["cluster"]["name"].as_str())
        .collect();
    assert!(!names.contains(&"search"), "{snapshot:?}");
    // The clusters were registered a moment ago: `pay` is in the snapshot or follows it.
    if !names.contains(&"pay") {
        client
            .next_where("cluster", |m| m["cluster"]["name"] == "pay")
            .await;
    }
    let st = db.store();
    write(
        &st,
        vec![upsert(search, &kustomization("apps", "theirs", true, 1))],
    )
    .await;
    let ours = write(
        &st,
        vec![upsert(pay, &kustomization("apps", "ours", true, 1))],
    )
    .await;
    let seen = client.changes_through(ours).await;
    assert!(
        seen.iter()
            .all(|c| c["resource"]["clusterId"] == json!(pay)),
        "out-of-scope change sent: {seen:?}"
    );
    // Relabel `pay` out of the scope: the stream says it is gone and sends nothing of it.
    let r = server
        .http()
        .patch(server.url(&format!("/api/v1/clusters/{pay}")))
        .json(&json!({"labels": {"team": "search"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let removed = client.next_where("cluster", |m| m["removed"] == true).await;
    assert_eq!(removed["cluster"]["name"], "pay");
    let last = write(
        &st,
        vec![upsert(pay, &kustomization("apps", "later", true, 2))],
    )
    .await;
    let mut admin = Client::connect(&server).await;
    admin.subscribe(Some(last - 1), json!({})).await;
    while let Ok(Some(m)) = client.try_next(Duration::from_secs(1)).await {
        assert_ne!(
            m["type"], "change",
            "a change of a cluster out of scope: {m}"
        );
        assert!(
            m["type"] != "cluster" || m["cluster"]["name"] != "search",
            "{m}"
        );
    }
}

#[tokio::test]
async fn streams_are_capped_per_credential_and_subscribe_floods_are_closed() {
    let db = TestDb::create().await;
    let args = [
        "--stream-max-per-principal",
        "2",
        "--stream-subscribes-per-minute",
        "3",
    ];
    let server = stream::start_server(&db.url(), &args).await;
    let (viewer, _) = create_token(&server, "viewer", "viewer", Value::Null).await;
    let mut first = Client::connect_as(&server, &viewer).await;
    let _second = Client::connect_as(&server, &viewer).await;
    let mut request = ws_url(&server).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {viewer}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 429),
        other => panic!("a third stream was not refused with 429: {other:?}"),
    }
    let _other_credential = Client::connect(&server).await;
    for _ in 0..3 {
        first.subscribe(None, json!({})).await;
    }
    first
        .ws
        .send(Message::text(
            json!({"type": "subscribe", "filter": {}}).to_string(),
        ))
        .await
        .unwrap();
    let error = first.next_of("error").await;
    assert_eq!(error["code"], "rate_limited");
    assert_eq!(
        close_code(&mut first, Duration::from_secs(5)).await,
        Some(CloseCode::Policy)
    );
    // A closed stream gives its place back.
    drop(first);
    stream::eventually("a place is free again", async || {
        let mut request = ws_url(&server).into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {viewer}").parse().unwrap());
        tokio_tungstenite::connect_async(request).await.is_ok()
    })
    .await;
}
