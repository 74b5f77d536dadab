//! Authentication and hardening, end to end against the real server: tokens hashed at rest and
//! never logged, sessions (cookie flags, logout, revocation), CSRF/Origin checks on cookies and
//! the WebSocket, the login rate limit, audit rows for every mutation, security headers, CORS,
//! `--auth=none` only on loopback, and the generated first admin token.

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::{Endpoint, client_with, create_token, token_kubeconfig};
use crate::support::fleet::register_unreachable;
use crate::support::process::run_bin;
use crate::support::stream;

async fn started(args: &[&str]) -> (TestDb, TestServer) {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), args).await;
    server.wait_ready().await;
    (db, server)
}

/// An unscoped token; returns its secret and id.
async fn new_token(server: &Endpoint, name: &str, role: &str) -> (String, Uuid) {
    create_token(server, name, role, Value::Null).await
}

/// Log in with `token`; returns the `Set-Cookie` header and the `name=value` pair.
async fn login(server: &TestServer, token: &str) -> (String, String) {
    let r = reqwest::Client::new()
        .post(server.url("/api/v1/session"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let pair = set.split(';').next().unwrap().to_string();
    (set, pair)
}

#[tokio::test]
async fn tokens_are_stored_hashed_and_appear_in_no_log_line_or_later_response() {
    let (db, server) = started(&[]).await;
    let (token, id) = new_token(&server, "ci", "operator").await;
    assert!(token.starts_with("fluxo_") && token.len() >= 49, "{token}");
    let r = client_with(&token)
        .get(server.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        (me["subject"].as_str(), me["role"].as_str()),
        (Some("ci"), Some("operator"))
    );
    let listed = server
        .http()
        .get(server.url("/api/v1/tokens"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&id.to_string()) && !listed.contains(&token),
        "{listed}"
    );
    let dump: String = db
        .client()
        .await
        .query("SELECT row_to_json(t)::text FROM api_tokens t", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    for secret in [token.as_str(), server.token()] {
        assert!(!dump.contains(secret), "a token is stored in clear");
        assert!(
            !dump.contains(&secret[secret.len() - 20..]),
            "part of a token is stored"
        );
    }
    let _ = client_with("fluxo_wrong-token-that-leaks-nothing")
        .get(server.url("/api/v1/clusters"))
        .send()
        .await;
    login(&server, &token).await;
    let logs = server.logs();
    for secret in [
        token.as_str(),
        server.token(),
        "fluxo_wrong-token-that-leaks-nothing",
    ] {
        assert!(!logs.contains(secret), "a token is in the logs");
    }
    assert!(!logs.contains("fluxs_"), "a session id is in the logs");
}

#[tokio::test]
async fn a_session_cookie_is_httponly_strict_works_until_logout_and_dies_with_its_token() {
    let (_db, server) = started(&[]).await;
    let (token, id) = new_token(&server, "alice", "viewer").await;
    let (set, pair) = login(&server, &token).await;
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(!set.contains("Secure"), "no TLS here: {set}");
    let with_cookie = || {
        reqwest::Client::new()
            .get(server.url("/api/v1/session"))
            .header("cookie", &pair)
    };
    let me: Value = with_cookie().send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (me["subject"].as_str(), me["method"].as_str()),
        (Some("alice"), Some("session"))
    );

    let r = reqwest::Client::new()
        .delete(server.url("/api/v1/session"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        with_cookie().send().await.unwrap().status(),
        401,
        "logged out"
    );

    let (_, pair) = login(&server, &token).await;
    let with_cookie = || {
        reqwest::Client::new()
            .get(server.url("/api/v1/session"))
            .header("cookie", &pair)
    };
    assert_eq!(with_cookie().send().await.unwrap().status(), 200);
    let r = server
        .http()
        .delete(server.url(&format!("/api/v1/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        with_cookie().send().await.unwrap().status(),
        401,
        "revoked token, dead session"
    );
    let r = client_with(&token)
        .get(server.url("/api/v1/clusters"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn cookie_authenticated_changes_need_this_servers_origin_and_bearer_tokens_do_not() {
    let (_db, server) = started(&[]).await;
    let (_, pair) = login(&server, server.token()).await;
    let body = json!({"name": "csrf", "kubeconfig": token_kubeconfig("https://127.0.0.1:1", "t0ken-csrf")});
    let post = |origin: Option<&str>| {
        let mut r = reqwest::Client::new()
            .post(server.url("/api/v1/clusters"))
            .header("cookie", &pair)
            .json(&body);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    for origin in [None, Some("https://evil.example"), Some("null")] {
        let r = post(origin).await.unwrap();
        assert_eq!(r.status(), 403, "{origin:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "cross_origin");
    }
    assert_eq!(post(Some(&server.base)).await.unwrap().status(), 201);
    let r = reqwest::Client::new()
        .get(server.url("/api/v1/clusters"))
        .header("cookie", &pair)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "reads are safe: SameSite=Strict keeps cross-site requests cookieless anyway"
    );
    let r = server
        .http()
        .delete(server.url("/api/v1/clusters/csrf"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        204,
        "a bearer token is no ambient credential: no Origin check"
    );
}

#[tokio::test]
async fn the_stream_takes_a_bearer_or_a_same_origin_cookie_and_nothing_else() {
    let (_db, server) = started(&[]).await;
    let (_, pair) = login(&server, server.token()).await;
    let url = stream::ws_url(&server);
    let connect = |headers: Vec<(&'static str, String)>| {
        let mut request = url.as_str().into_client_request().unwrap();
        for (k, v) in headers {
            request.headers_mut().insert(k, v.parse().unwrap());
        }
        tokio_tungstenite::connect_async(request)
    };
    let status = |r: Result<_, tokio_tungstenite::tungstenite::Error>| match r {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(status(connect(vec![]).await), 401);
    assert_eq!(
        status(connect(vec![("cookie", pair.clone())]).await),
        403,
        "no Origin"
    );
    let evil = vec![
        ("cookie", pair.clone()),
        ("origin", "https://evil.example".into()),
    ];
    assert_eq!(status(connect(evil).await), 403);
    let own = vec![("cookie", pair.clone()), ("origin", server.base.clone())];
    assert_eq!(status(connect(own).await), 101);
    let bearer = vec![("authorization", format!("Bearer {}", server.token()))];
    assert_eq!(status(connect(bearer).await), 101);
}

#[tokio::test]
async fn login_attempts_beyond_the_limit_get_429_and_the_burst_is_audited_once() {
    let (_db, server) = started(&["--login-rate-limit", "3"]).await;
    let attempt = || {
        reqwest::Client::new()
            .post(server.url("/api/v1/session"))
            .json(&json!({"token": "fluxo_guess"}))
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(attempt().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    let r = reqwest::Client::new()
        .post(server.url("/api/v1/session"))
        .json(&json!({"token": server.token()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "the limit holds for good tokens too");
    let results = async |operation: &str| -> Vec<String> {
        let audit: Value = server
            .http()
            .get(server.url(&format!("/api/v1/audit?operation={operation}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["result"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        results("createSession").await,
        ["denied", "denied", "denied"]
    );
    // Refused attempts are refused before their body is read; the burst leaves one row, so
    // a flood of them cannot fill the table.
    assert_eq!(results("loginRateLimited").await, ["rate_limited"]);
}

#[tokio::test]
async fn every_mutation_leaves_an_audit_row_with_who_what_where_and_the_result() {
    let (db, server) = started(&[]).await;
    let cluster = register_unreachable(&server, "prod").await;
    stream::write(
        &db.store(),
        vec![stream::upsert(
            cluster,
            &stream::kustomization("apps", "web", true, 1),
        )],
    )
    .await;
    let page: Value = server
        .http()
        .get(server.url("/api/v1/resources"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resource = page["items"][0]["id"].as_str().unwrap().to_string();
    let (viewer, _) = new_token(&server, "peek", "viewer").await;
    let http = server.http();
    let post = |path: String, body: Value| http.post(server.url(&path)).json(&body).send();
    post(
        format!("/api/v1/resources/{resource}/suspend"),
        json!({"reason": "freeze for the release"}),
    )
    .await
    .unwrap();
    post(format!("/api/v1/clusters/{cluster}/sync"), json!({}))
        .await
        .unwrap();
    let r = client_with(&viewer)
        .post(server.url(&format!("/api/v1/clusters/{cluster}/sync")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    http.patch(server.url("/api/v1/clusters/prod"))
        .json(&json!({"description": "x"}))
        .send()
        .await
        .unwrap();
    http.delete(server.url("/api/v1/clusters/prod"))
        .send()
        .await
        .unwrap();

    let audit: Value = http
        .get(server.url("/api/v1/audit"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows: Vec<String> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {} {} {} {}",
                e["actor"].as_str().unwrap(),
                e["operation"].as_str().unwrap(),
                e["cluster"].as_str().unwrap_or("-"),
                e["object"].as_str().unwrap_or("-"),
                e["reason"].as_str().unwrap_or("-"),
                e["status"],
                e["result"].as_str().unwrap()
            )
        })
        .collect();
    let admin = "admin (FLUXO_ADMIN_TOKEN)";
    let expected = [
        format!("{admin} deleteCluster prod - - 204 ok"),
        format!("{admin} updateCluster prod - - 200 ok"),
        "peek syncCluster prod - - 403 denied".to_string(),
        format!("{admin} syncCluster prod - - 202 ok"),
        format!(
            "{admin} suspendResource prod Kustomization/apps/web freeze for the release 503 failed"
        ),
        format!("{admin} createToken - token/peek - 201 ok"),
        format!("{admin} createCluster prod - - 201 ok"),
    ];
    assert_eq!(rows, expected, "{audit}");
    assert!(audit["items"][0]["remote"] == "127.0.0.1" && audit["items"][0]["at"].is_string());
    assert!(server.logs().lines().any(|l| l.contains("audit")
        && l.contains("suspendResource")
        && l.contains("freeze for the release")));
}

#[tokio::test]
async fn responses_carry_security_headers_and_no_cors_unless_configured() {
    let (_db, server) = started(&[]).await;
    for path in ["/healthz", "/api/v1/clusters", "/login", "/api/v1/nothing"] {
        let r = reqwest::Client::new()
            .get(server.url(path))
            .header("origin", "https://other.example")
            .send()
            .await
            .unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(!h.contains_key("access-control-allow-origin"), "{path}");
    }
    // `/login` sends browsers to the UI's sign-in page (tests/login_page.rs), whose CSP is
    // checked above with every other response.

    let (_db2, cors) = started(&["--cors-origins", "https://ui.example"]).await;
    let r = reqwest::Client::new()
        .get(cors.url("/healthz"))
        .header("origin", "https://ui.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://ui.example"
    );
}

#[tokio::test]
async fn auth_none_is_refused_off_loopback_and_warns_on_loopback() {
    let (ok, out) = run_bin(
        &[
            "serve",
            "--auth",
            "none",
            "--listen",
            "0.0.0.0:0",
            "--database-url",
            "postgres://x@127.0.0.1:1/x",
            "--dev-secret-key-file",
            "/tmp/unused-key",
        ],
        &[],
    )
    .await;
    assert!(
        !ok && out.contains("only allowed on a loopback address"),
        "{out}"
    );
    let (_db, server) = started(&["--auth", "none"]).await;
    let me: Value = reqwest::get(server.url("/api/v1/session"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["authEnabled"].as_bool(), me["role"].as_str()),
        (Some(false), Some("admin"))
    );
    assert!(
        me["warning"]
            .as_str()
            .unwrap()
            .contains("Authentication is off")
    );
    assert!(server.logs().contains("AUTHENTICATION IS OFF"));
}

#[tokio::test]
async fn without_an_admin_token_one_is_generated_printed_once_and_works() {
    let db = TestDb::create().await;
    let first = TestServer::start_without_admin_token(&db.url()).await;
    first.wait_ready().await;
    let line = first
        .wait_for_log("fluxo_", std::time::Duration::from_secs(10))
        .await;
    let token = line[line.find("fluxo_").unwrap()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(first.logs().contains("shown this once"));
    let r = client_with(&token)
        .get(first.url("/api/v1/tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    first.stop().await.expect("a clean stop");
    let again = TestServer::start_without_admin_token(&db.url()).await;
    again.wait_ready().await;
    assert!(!again.logs().contains(&token) && !again.logs().contains("shown this once"));
    let r = client_with(&token)
        .get(again.url("/api/v1/tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_login_form_sets_the_session_cookie_only_when_posted_from_this_server() {
    let (_db, server) = started(&[]).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |origin: &str, token: &str| {
        http.post(server.url("/login"))
            .header("origin", origin)
            .form(&[("token", token)])
            .send()
    };
    let r = post(&server.base, server.token()).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("fluxo_session=fluxs_") && cookie.contains("HttpOnly"));
    let r = post("https://evil.example", server.token()).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(!r.headers().contains_key("set-cookie"));
    let r = post(&server.base, "fluxo_wrong").await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("unknown, expired or revoked")
    );
}

#[tokio::test]
async fn an_expired_session_is_refused_and_a_session_never_outlives_its_token() {
    let (db, server) = started(&[]).await;
    let (_, pair) = login(&server, server.token()).await;
    let me = || {
        reqwest::Client::new()
            .get(server.url("/api/v1/session"))
            .header("cookie", &pair)
            .send()
    };
    assert_eq!(me().await.unwrap().status(), 200);
    let client = db.client().await;
    client
        .execute(
            "UPDATE sessions SET expires_at = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(me().await.unwrap().status(), 401);

    let until = (chrono::Utc::now() + chrono::Duration::minutes(5)).to_rfc3339();
    let r = server
        .http()
        .post(server.url("/api/v1/tokens"))
        .json(&json!({"name": "short", "role": "viewer", "expiresAt": until}))
        .send()
        .await
        .unwrap();
    let token: Value = r.json().await.unwrap();
    let (set, _) = login(&server, token["token"].as_str().unwrap()).await;
    let age: i64 = set
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(age <= 300, "the session ends with its token: {set}");
}
