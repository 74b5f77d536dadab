//! Notifications: sinks, rules and mutes through the API (credentials sealed, bad input named),
//! and test messages to a local webhook receiver (HMAC checked) and a real Alertmanager; the
//! engine: objects failing through the real writer → one grouped message, dedupe, resolve,
//! `stillFailed` timers, mutes, retries under one idempotency key, a silent sink beside a
//! working one, two servers on one database, and the delivery log; Slack and Teams bodies as
//! received, validated against their schemas (`notify_schema.rs`).

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::notify_schema::{assert_slack, assert_teams};
use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::{client_with, create_token};
use crate::support::fleet::{register_unreachable, wait_for};
use crate::support::stream::{kustomization, setup, upsert, write};

/// A request a receiver got: its headers and body.
struct Received {
    headers: http::HeaderMap,
    body: Bytes,
}

/// A local HTTP receiver answering `status` to everything; returns its base URL and what it got.
async fn receiver(status: u16) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let tx = tx.clone();
                async move {
                    let headers = req.headers().clone();
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    let _ = tx.send(Received { headers, body });
                    let answer = http::Response::builder().status(status);
                    Ok::<_, Infallible>(answer.body(Full::new(Bytes::new())).unwrap())
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
        }
    });
    (base, rx)
}

async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let r = server
        .http()
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

const SECRET: &str = "a-webhook-secret-of-some-length";

#[tokio::test]
async fn a_webhook_sink_keeps_its_url_and_secret_sealed_and_its_test_message_is_signed() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let (base, mut got) = receiver(204).await;
    let url = format!("{base}/hook/T0K3N?key=querytoken");
    let body = json!({"name": "ops-hook", "kind": "webhook", "url": url, "secret": SECRET,
                      "allowInsecure": true});
    let (status, sink) = post(&server, "/api/v1/notifications/sinks", body).await;
    assert_eq!(status, 201, "{sink}");
    assert_eq!(sink["endpoint"], base);
    let listed = server
        .http()
        .get(server.url("/api/v1/notifications/sinks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for hidden in ["T0K3N", "querytoken", SECRET] {
        assert!(!listed.contains(hidden), "{hidden} listed: {listed}");
    }
    let stored: Vec<u8> = db
        .client()
        .await
        .query_one("SELECT credentials FROM notify_sinks", &[])
        .await
        .unwrap()
        .get(0);
    let stored = String::from_utf8_lossy(&stored);
    assert!(!stored.contains(SECRET) && !stored.contains("T0K3N"));

    let id = sink["id"].as_str().unwrap();
    let path = format!("/api/v1/notifications/sinks/{id}/test");
    let (status, result) = post(&server, &path, Value::Null).await;
    assert_eq!(
        (status, &result["ok"], &result["status"]),
        (200, &json!(true), &json!(204))
    );
    let req = tokio::time::timeout(Duration::from_secs(5), got.recv())
        .await
        .unwrap()
        .unwrap();
    let ts: i64 = req.headers["x-fluxo-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    let signed = [format!("{ts}.").as_bytes(), &req.body].concat();
    let expected = format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, &signed).as_ref())
    );
    assert_eq!(req.headers["x-fluxo-signature"].to_str().unwrap(), expected);
    let payload: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        (&payload["type"], &payload["sink"]),
        (&json!("test"), &json!("ops-hook"))
    );
}

#[tokio::test]
async fn a_sink_that_answers_500_or_not_at_all_is_reported_not_an_error() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let (base, _got) = receiver(500).await;
    let dead = format!(
        "http://{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    );
    for (name, url, answer) in [("failing", base, json!(500)), ("dead", dead, Value::Null)] {
        let body = json!({"name": name, "kind": "webhook", "url": url, "secret": SECRET,
                          "allowInsecure": true});
        let (status, sink) = post(&server, "/api/v1/notifications/sinks", body).await;
        assert_eq!(status, 201, "{sink}");
        let path = format!(
            "/api/v1/notifications/sinks/{}/test",
            sink["id"].as_str().unwrap()
        );
        let (status, result) = post(&server, &path, Value::Null).await;
        assert_eq!(
            (status, &result["ok"], &result["status"]),
            (200, &json!(false), &answer)
        );
        if answer.is_null() {
            let error = result["error"].as_str().unwrap();
            assert!(!error.contains("127.0.0.1"), "{error}");
        }
    }
}

/// A real Alertmanager on 127.0.0.1, killed when dropped.
struct Alertmanager {
    child: tokio::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn alertmanager() -> Alertmanager {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let child = tokio::process::Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.path().display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect(
            "prometheus-alertmanager (Debian package prometheus-alertmanager) must be installed",
        );
    let ready = format!("{base}/-/ready");
    for _ in 0..100 {
        if reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Alertmanager {
                child,
                base,
                _dir: dir,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Alertmanager did not become ready");
}

#[tokio::test]
async fn an_alertmanager_sink_receives_the_test_alert_with_its_labels() {
    let am = alertmanager().await;
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let body = json!({"name": "am", "kind": "alertmanager", "url": am.base, "allowInsecure": true});
    let (status, sink) = post(&server, "/api/v1/notifications/sinks", body).await;
    assert_eq!(status, 201, "{sink}");
    let path = format!(
        "/api/v1/notifications/sinks/{}/test",
        sink["id"].as_str().unwrap()
    );
    let (status, result) = post(&server, &path, Value::Null).await;
    assert_eq!((status, &result["status"]), (200, &json!(200)), "{result}");
    let alerts: Value = reqwest::get(format!("{}/api/v2/alerts", am.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alert = &alerts[0];
    assert_eq!(alert["labels"]["alertname"], "FluxoTest", "{alerts}");
    assert_eq!(alert["labels"]["sink"], "am");
    assert_eq!(alert["labels"]["source"], "flux-orchestrator");
    assert!(alert["endsAt"].as_str().is_some());
}

/// `(status, code, message)` of a refused request.
async fn refused(server: &TestServer, path: &str, body: Value) -> (u16, String, String) {
    let (status, error) = post(server, path, body).await;
    let text = |k: &str| error[k].as_str().unwrap_or_default().to_string();
    (status, text("code"), text("message"))
}

#[tokio::test]
async fn bad_sinks_rules_and_mutes_are_refused_naming_the_field() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let sinks = "/api/v1/notifications/sinks";
    let hook = |url: &str| json!({"name": "h", "kind": "webhook", "url": url, "secret": SECRET});
    let cases = [
        (hook("http://127.0.0.1:9/x"), "url: plain http://"),
        (hook("https://169.254.169.254/latest"), "url: "),
        (hook("https://user:pw@example.com/"), "url: must not carry"),
        (hook("not a url"), "url: "),
        (
            json!({"name": "h", "kind": "webhook", "url": "https://example.com"}),
            "secret: ",
        ),
        (
            json!({"name": "h", "kind": "pagerduty", "url": "https://example.com"}),
            "",
        ),
        (
            json!({"name": "H h", "kind": "alertmanager", "url": "https://example.com"}),
            "name: ",
        ),
    ];
    for (body, message) in cases {
        let (status, _, text) = refused(&server, sinks, body.clone()).await;
        assert_eq!(status, 400, "{body}: {text}");
        assert!(text.starts_with(message), "{body}: {text}");
        assert!(!text.contains("pw@"), "{text}");
    }
    let (_, code, _) = refused(&server, sinks, hook("https://169.254.169.254/latest")).await;
    assert_eq!(code, "address_refused");

    let (status, sink) = post(
        &server,
        sinks,
        json!({"name": "am", "kind": "alertmanager",
        "url": "http://127.0.0.1:9093", "allowInsecure": true}),
    )
    .await;
    assert_eq!(status, 201, "{sink}");
    let sink_id = sink["id"].as_str().unwrap();
    let rules = "/api/v1/notifications/rules";
    let rule = |extra: Value| {
        let mut r = json!({"name": "r", "sinkId": sink_id, "condition": "failed"});
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r
    };
    let cases = [
        (
            rule(json!({"filter": {"kinds": ["Pod"]}})),
            "filter.kinds: unknown kind",
        ),
        (
            rule(json!({"sinkId": uuid::Uuid::new_v4()})),
            "sinkId: no such sink",
        ),
        (rule(json!({"condition": "stillFailed"})), "afterMinutes: "),
        (rule(json!({"afterMinutes": 5})), "afterMinutes: "),
        (
            rule(json!({"groupWindowSecs": -1})),
            "field `groupWindowSecs`",
        ),
        (
            rule(json!({"filter": {"clusterLabels": {"": "x"}}})),
            "filter.clusterLabels",
        ),
    ];
    for (body, message) in cases {
        let (status, _, text) = refused(&server, rules, body.clone()).await;
        assert_eq!(status, 400, "{body}: {text}");
        assert!(text.starts_with(message), "{body}: {text}");
    }
    let good = rule(
        json!({"name": "ks-failing", "filter": {"kinds": ["ks"], "clusterLabels": {"env": "prod"}},
                           "condition": "stillFailed", "afterMinutes": 10}),
    );
    let (status, created) = post(&server, rules, good).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["filter"]["kinds"], json!(["Kustomization"]));
    assert_eq!(created["groupWindowSecs"], 30);
    let (status, code, _) = refused(&server, rules, rule(json!({"name": "ks-failing"}))).await;
    assert_eq!((status, code.as_str()), (409, "conflict"));
    let r = server
        .http()
        .delete(server.url(&format!("{sinks}/{sink_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "a sink in use was deleted");

    let mutes = "/api/v1/notifications/mutes";
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let (status, _, text) =
        refused(&server, mutes, json!({"reason": "x", "expiresAt": past})).await;
    assert_eq!(
        (status, text.starts_with("expiresAt: ")),
        (400, true),
        "{text}"
    );
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    let (status, _, text) =
        refused(&server, mutes, json!({"reason": " ", "expiresAt": soon})).await;
    assert_eq!(
        (status, text.starts_with("reason: ")),
        (400, true),
        "{text}"
    );
}

#[tokio::test]
async fn operators_mute_and_unmute_but_do_not_manage_rules() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let (token, _) = create_token(&server, "oncall", "operator", Value::Null).await;
    let operator = client_with(&token);
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    let body =
        json!({"reason": "maintenance", "expiresAt": soon, "filter": {"clusters": ["prod-1"]}});
    let r = operator
        .post(server.url("/api/v1/notifications/mutes"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let mute: Value = r.json().await.unwrap();
    assert_eq!(mute["createdBy"], "oncall");
    let mutes_url = server.url("/api/v1/notifications/mutes");
    let list = |http: reqwest::Client| {
        let url = mutes_url.clone();
        async move {
            let page: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            page["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(list(operator.clone()).await, 1);
    let path = format!(
        "/api/v1/notifications/mutes/{}",
        mute["id"].as_str().unwrap()
    );
    let r = operator.delete(server.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(list(operator.clone()).await, 0);
    let r = operator.delete(server.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 404, "an expired mute expired again");
    let rule = json!({"name": "r", "sinkId": uuid::Uuid::new_v4(), "condition": "failed"});
    let r = operator
        .post(server.url("/api/v1/notifications/rules"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

// ---- The engine: changes → grouped, deduped, retried deliveries ----

/// What a scripted receiver answers, in order; after the script, 200.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Take the request and never answer.
    Hang,
}

/// A receiver answering from `script` (then 200); returns its base URL and what it got.
async fn scripted(script: Vec<Answer>) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let script = std::sync::Arc::new(std::sync::Mutex::new(script.into_iter()));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, script) = (tx.clone(), script.clone());
            let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let (tx, script) = (tx.clone(), script.clone());
                async move {
                    let headers = req.headers().clone();
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    let _ = tx.send(Received { headers, body });
                    let next = script.lock().unwrap().next();
                    let status = match next.unwrap_or(Answer::Status(200)) {
                        Answer::Status(s) => s,
                        Answer::Hang => std::future::pending().await,
                    };
                    let answer = http::Response::builder().status(status);
                    Ok::<_, Infallible>(answer.body(Full::new(Bytes::new())).unwrap())
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
        }
    });
    (base, rx)
}

/// A webhook sink to `url`; its id.
async fn webhook_sink(server: &TestServer, name: &str, url: &str) -> String {
    let body = json!({"name": name, "kind": "webhook", "url": url, "secret": SECRET, "allowInsecure": true});
    let (status, sink) = post(server, "/api/v1/notifications/sinks", body).await;
    assert_eq!(status, 201, "{sink}");
    sink["id"].as_str().unwrap().to_string()
}

/// A rule on Kustomizations sending to `sink`; `extra` overrides fields.
async fn kustomization_rule(server: &TestServer, name: &str, sink: &str, extra: Value) -> String {
    let mut body = json!({"name": name, "sinkId": sink, "condition": "failed",
                          "filter": {"kinds": ["ks"]}, "groupWindowSecs": 0});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, rule) = post(server, "/api/v1/notifications/rules", body).await;
    assert_eq!(status, 201, "{rule}");
    rule["id"].as_str().unwrap().to_string()
}

/// Write Kustomizations `names` in namespace `apps` of `cluster`, ready or failed, at `rev`.
async fn set(
    store: &flux_orchestrator::store::Store,
    cluster: uuid::Uuid,
    names: &[&str],
    ready: bool,
    rev: u64,
) {
    let ops = names
        .iter()
        .map(|n| upsert(cluster, &kustomization("apps", n, ready, rev)))
        .collect();
    write(store, ops).await;
}

/// The next message a receiver gets within `wait`, its signature checked.
async fn message(
    rx: &mut mpsc::UnboundedReceiver<Received>,
    wait: Duration,
) -> (Value, http::HeaderMap) {
    let got = tokio::time::timeout(wait, rx.recv())
        .await
        .expect("a message in time")
        .expect("the receiver runs");
    let ts: i64 = got.headers["x-fluxo-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let signature = flux_orchestrator::notify::payload::signature(SECRET, ts, &got.body);
    assert_eq!(
        got.headers["x-fluxo-signature"].to_str().unwrap(),
        signature
    );
    (serde_json::from_slice(&got.body).unwrap(), got.headers)
}

/// Nothing more arrives within `wait`.
async fn quiet(rx: &mut mpsc::UnboundedReceiver<Received>, wait: Duration) {
    if let Ok(Some(got)) = tokio::time::timeout(wait, rx.recv()).await {
        panic!("unexpected message: {}", String::from_utf8_lossy(&got.body));
    }
}

async fn deliveries(server: &TestServer, query: &str) -> Value {
    let r = server
        .http()
        .get(server.url(&format!("/api/v1/notifications/deliveries{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn five_objects_failing_within_the_window_make_one_message_not_repeated_then_one_resolve() {
    let env = setup(&[]).await;
    let (url, mut rx) = receiver(200).await;
    let sink = webhook_sink(&env.server, "hook", &url).await;
    let rule = kustomization_rule(
        &env.server,
        "ks-failed",
        &sink,
        json!({"groupWindowSecs": 2}),
    )
    .await;
    // A `recovered` rule elsewhere: it speaks only after a notified failure.
    let (recovered_url, mut recovered_rx) = receiver(200).await;
    let recovered_sink = webhook_sink(&env.server, "recoveries", &recovered_url).await;
    kustomization_rule(
        &env.server,
        "ks-recovered",
        &recovered_sink,
        json!({"condition": "recovered", "groupWindowSecs": 2}),
    )
    .await;
    let names = ["a", "b", "c", "d", "e"];
    set(&env.store, env.cluster, &names, true, 1).await;
    for (i, n) in names.iter().enumerate() {
        set(&env.store, env.cluster, &[n], false, 2).await;
        if i == 1 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let (firing, headers) = message(&mut rx, WAIT).await;
    assert_eq!(firing["type"], "firing", "{firing}");
    assert_eq!(firing["items"].as_array().unwrap().len(), 5, "{firing}");
    assert_eq!(
        headers["x-fluxo-delivery"].to_str().unwrap(),
        firing["id"].as_str().unwrap()
    );
    let summary = firing["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!(
            "revision main@sha1:{:040x} failed on 1 cluster: prod/Kustomization/apps/",
            2
        )),
        "{summary}"
    );
    assert!(
        firing["items"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("/resources/")
    );
    // Still failed, with another revision: already notified, nothing sent.
    set(&env.store, env.cluster, &names, false, 3).await;
    quiet(&mut rx, Duration::from_secs(4)).await;
    set(&env.store, env.cluster, &names, true, 4).await;
    let (resolved, _) = message(&mut rx, WAIT).await;
    assert_eq!(resolved["type"], "resolved", "{resolved}");
    assert_eq!(resolved["items"].as_array().unwrap().len(), 5);
    let (recovered, _) = message(&mut recovered_rx, WAIT).await;
    assert_eq!(recovered["type"], "recovered", "{recovered}");
    assert_eq!(recovered["items"].as_array().unwrap().len(), 5);
    quiet(&mut recovered_rx, Duration::from_secs(1)).await;
    quiet(&mut rx, Duration::from_secs(3)).await;
    // The delivery log: both sent, newest first; filters and pages.
    let log = deliveries(&env.server, &format!("?sink={sink}&state=sent")).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{log}");
    assert_eq!(
        (items[0]["action"].as_str(), items[1]["action"].as_str()),
        (Some("resolved"), Some("firing"))
    );
    assert_eq!(items[1]["key"], firing["id"]);
    assert_eq!(
        (
            items[1]["lastStatus"].as_i64(),
            items[1]["attempts"].as_i64()
        ),
        (Some(200), Some(1))
    );
    assert_eq!(items[0]["ruleId"].as_str(), Some(rule.as_str()));
    let page = deliveries(&env.server, &format!("?sink={sink}&limit=1")).await;
    let next = page["continue"].as_str().unwrap().to_string();
    let second = deliveries(
        &env.server,
        &format!("?sink={sink}&limit=1&continue={next}"),
    )
    .await;
    assert_eq!(second["items"][0]["action"], "firing");
    assert!(second["continue"].is_null(), "{second}");
    assert_eq!(
        deliveries(&env.server, "?state=failed").await["items"],
        json!([])
    );
    let r = env
        .server
        .http()
        .get(
            env.server
                .url("/api/v1/notifications/deliveries?continue=x"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = env
        .server
        .http()
        .get(
            env.server
                .url("/api/v1/notifications/deliveries?state=lost"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn alertmanager_shows_the_failure_firing_then_resolved() {
    let am = alertmanager().await;
    let env = setup(&[]).await;
    let body = json!({"name": "am", "kind": "alertmanager", "url": am.base, "allowInsecure": true});
    let (status, sink) = post(&env.server, "/api/v1/notifications/sinks", body).await;
    assert_eq!(status, 201, "{sink}");
    let sink = sink["id"].as_str().unwrap();
    kustomization_rule(&env.server, "ks-failed", sink, json!({})).await;
    set(&env.store, env.cluster, &["web"], true, 1).await;
    set(&env.store, env.cluster, &["web"], false, 2).await;
    let alerts_url = format!(
        "{}/api/v2/alerts?filter=alertname%3D%22FluxoFailed%22",
        am.base
    );
    let alerts = || async {
        let v: Value = reqwest::get(&alerts_url)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v.as_array().cloned().unwrap_or_default()
    };
    wait_for("the firing alert", WAIT, || async {
        alerts().await.len() == 1
    })
    .await;
    let alert = &alerts().await[0];
    assert_eq!(alert["status"]["state"], "active", "{alert}");
    for (label, value) in [
        ("cluster", "prod"),
        ("kind", "Kustomization"),
        ("namespace", "apps"),
        ("name", "web"),
        ("rule", "ks-failed"),
    ] {
        assert_eq!(alert["labels"][label], value, "{alert}");
    }
    set(&env.store, env.cluster, &["web"], true, 3).await;
    // A resolved alert (endsAt passed) is no longer listed as active.
    wait_for("the alert resolved", WAIT, || async {
        alerts().await.is_empty()
    })
    .await;
}

#[tokio::test]
async fn still_failed_waits_its_minutes_ignores_blips_and_mutes_suppress() {
    // A "minute" of one second (a test-only knob): afterMinutes 2 is two seconds.
    let env = setup(&["--notify-minute-secs", "1"]).await;
    let (url, mut rx) = receiver(200).await;
    let sink = webhook_sink(&env.server, "hook", &url).await;
    let rule = kustomization_rule(
        &env.server,
        "still",
        &sink,
        json!({"condition": "stillFailed", "afterMinutes": 2}),
    )
    .await;
    let mute = json!({"ruleId": rule, "filter": {"namePrefix": "muted"}, "reason": "maintenance",
                      "expiresAt": chrono::Utc::now() + chrono::Duration::hours(1)});
    let (status, _) = post(&env.server, "/api/v1/notifications/mutes", mute).await;
    assert_eq!(status, 201);
    set(
        &env.store,
        env.cluster,
        &["blip", "stays", "muted-x"],
        true,
        1,
    )
    .await;
    set(
        &env.store,
        env.cluster,
        &["blip", "stays", "muted-x"],
        false,
        2,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    set(&env.store, env.cluster, &["blip"], true, 3).await;
    let (firing, _) = message(&mut rx, WAIT).await;
    let items = firing["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{firing}");
    assert_eq!(items[0]["name"], "stays");
    assert!(
        firing["summary"]
            .as_str()
            .unwrap()
            .contains("still failed after 2 min"),
        "{firing}"
    );
    quiet(&mut rx, Duration::from_secs(4)).await;
}

#[tokio::test]
async fn a_500_is_retried_under_the_same_key_and_a_silent_sink_delays_no_other() {
    let env = setup(&[]).await;
    let (flaky, mut flaky_rx) = scripted(vec![Answer::Status(500)]).await;
    let (silent, mut silent_rx) = scripted(vec![Answer::Hang; 20]).await;
    let flaky_sink = webhook_sink(&env.server, "flaky", &flaky).await;
    let silent_sink = webhook_sink(&env.server, "silent", &silent).await;
    kustomization_rule(&env.server, "to-silent", &silent_sink, json!({})).await;
    kustomization_rule(&env.server, "to-flaky", &flaky_sink, json!({})).await;
    set(&env.store, env.cluster, &["web"], true, 1).await;
    let started = std::time::Instant::now();
    set(&env.store, env.cluster, &["web"], false, 2).await;
    message(&mut silent_rx, WAIT).await;
    let (first, _) = message(&mut flaky_rx, WAIT).await;
    // Measured, not asserted (a loaded machine): no window, so change → first attempt is the
    // engine's wake-up, one evaluation and one send.
    eprintln!("change → first attempt: {:?}", started.elapsed());
    let (second, _) = message(&mut flaky_rx, WAIT).await;
    // The silent sink holds its send for 10 s; the other was retried and delivered meanwhile.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        first["id"], second["id"],
        "the retry keeps the idempotency key"
    );
    quiet(&mut flaky_rx, Duration::from_secs(3)).await;
    let log = deliveries(&env.server, &format!("?sink={flaky_sink}")).await;
    let d = &log["items"][0];
    assert_eq!(
        (
            d["state"].as_str(),
            d["attempts"].as_i64(),
            d["lastStatus"].as_i64()
        ),
        (Some("sent"), Some(2), Some(200)),
        "{log}"
    );
    let log = deliveries(&env.server, &format!("?sink={silent_sink}")).await;
    assert_ne!(log["items"][0]["state"], "sent", "{log}");
}

#[tokio::test]
async fn of_two_servers_one_sends_and_the_survivor_resends_what_the_stopped_one_had_in_flight() {
    // Two replicas of one installation: one database, one credential key.
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    let replica = || async {
        let server = TestServer::start_with_key(&db.url(), &[], &key).await;
        server.wait_ready().await;
        server
    };
    let first_server = replica().await;
    let other = replica().await;
    let cluster = register_unreachable(&first_server, "prod").await;
    let store = db.store();
    let (url, mut rx) = scripted(vec![Answer::Hang]).await;
    let sink = webhook_sink(&first_server, "hook", &url).await;
    kustomization_rule(&first_server, "ks-failed", &sink, json!({})).await;
    set(&store, cluster, &["web"], true, 1).await;
    set(&store, cluster, &["web"], false, 2).await;
    let (first, _) = message(&mut rx, WAIT).await;
    // The leader's send hangs; the other server does not send it too.
    quiet(&mut rx, Duration::from_secs(3)).await;
    let sends = "notification engine: this replica sends";
    let (leader, survivor) = if first_server.logs().contains(sends) {
        (first_server, other)
    } else {
        (other, first_server)
    };
    // Dropped: aborted at once, as a killed replica (its connections close, the lock frees).
    drop(leader);
    let (again, _) = message(&mut rx, WAIT).await;
    assert_eq!(
        first["id"], again["id"],
        "the same delivery, under the same key"
    );
    quiet(&mut rx, Duration::from_secs(3)).await;
    let log = deliveries(&survivor, "").await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log["items"][0]["state"], "sent", "{log}");
}

#[tokio::test]
async fn an_unreachable_cluster_is_notified_once() {
    let env = setup(&[]).await;
    let (url, mut rx) = receiver(200).await;
    let sink = webhook_sink(&env.server, "hook", &url).await;
    let body = json!({"name": "down", "sinkId": sink, "condition": "clusterUnreachable",
                      "filter": {"clusters": ["prod"]}, "groupWindowSecs": 0});
    let (status, _) = post(&env.server, "/api/v1/notifications/rules", body).await;
    assert_eq!(status, 201);
    let (firing, _) = message(&mut rx, Duration::from_secs(40)).await;
    assert_eq!(
        firing["summary"], "1 cluster became unreachable: prod",
        "{firing}"
    );
    assert_eq!(firing["items"][0]["kind"], "Cluster");
    quiet(&mut rx, Duration::from_secs(3)).await;
}

/// A sink of `kind` (no secret) to `url`; its id.
async fn chat_sink(server: &TestServer, kind: &str, url: &str) -> String {
    let body = json!({"name": kind, "kind": kind, "url": url, "allowInsecure": true});
    let (status, sink) = post(server, "/api/v1/notifications/sinks", body).await;
    assert_eq!(status, 201, "{sink}");
    sink["id"].as_str().unwrap().to_string()
}

async fn body_of(rx: &mut mpsc::UnboundedReceiver<Received>) -> Value {
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(!got.headers.contains_key("x-fluxo-signature"));
    serde_json::from_slice(&got.body).unwrap()
}

#[tokio::test]
async fn slack_gets_block_kit_and_teams_an_adaptive_card() {
    let env = setup(&[]).await;
    let (slack_url, mut slack) = receiver(200).await;
    let (teams_url, mut teams) = receiver(202).await;
    let slack_sink = chat_sink(
        &env.server,
        "slack",
        &format!("{slack_url}/services/T0/B0/x"),
    )
    .await;
    let teams_sink = chat_sink(&env.server, "teams", &format!("{teams_url}/workflows/x")).await;
    // A secret is refused: their URL is their credential.
    let body = json!({"name": "s2", "kind": "slack", "url": slack_url, "secret": SECRET, "allowInsecure": true});
    let (status, error) = post(&env.server, "/api/v1/notifications/sinks", body).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().starts_with("secret:"),
        "{error}"
    );
    let (status, result) = post(
        &env.server,
        &format!("/api/v1/notifications/sinks/{slack_sink}/test"),
        Value::Null,
    )
    .await;
    assert_eq!((status, &result["status"]), (200, &json!(200)), "{result}");
    let test = body_of(&mut slack).await;
    assert_slack(&test);
    assert_eq!(test["blocks"][0]["text"]["text"], "Test message");
    kustomization_rule(&env.server, "to-slack", &slack_sink, json!({})).await;
    kustomization_rule(&env.server, "to-teams", &teams_sink, json!({})).await;
    set(&env.store, env.cluster, &["web"], true, 1).await;
    set(&env.store, env.cluster, &["web"], false, 2).await;
    let s = body_of(&mut slack).await;
    assert_slack(&s);
    let blocks = s["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header", "{s}");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(blocks[0]["text"]["text"], "Firing: to-slack");
    assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
    assert!(
        blocks[2]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("prod/Kustomization/apps/web: failed"),
        "{s}"
    );
    assert!(
        s["text"].as_str().unwrap().contains("failed on 1 cluster"),
        "{s}"
    );
    let t = body_of(&mut teams).await;
    assert_teams(&t);
    assert_eq!(t["type"], "message", "{t}");
    let card = &t["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["version"], "1.4");
    assert_eq!(card["content"]["body"][0]["text"], "Firing: to-teams");
    assert_eq!(card["content"]["body"][2]["type"], "FactSet");
    assert_eq!(card["content"]["body"][2]["facts"][0]["title"], "prod/web");
    let log = deliveries(&env.server, &format!("?sink={teams_sink}")).await;
    assert_eq!(log["items"][0]["lastStatus"], 202, "{log}");
}

#[tokio::test]
async fn retention_deletes_old_finished_deliveries_and_states_of_objects_gone() {
    let env = setup(&[]).await;
    let (url, _rx) = receiver(200).await;
    let sink = webhook_sink(&env.server, "hook", &url).await;
    let rule = kustomization_rule(&env.server, "ks-failed", &sink, json!({})).await;
    let (sink, rule): (uuid::Uuid, uuid::Uuid) = (sink.parse().unwrap(), rule.parse().unwrap());
    let db = env.db.client().await;
    for (state, age) in [("sent", 40), ("failed", 40), ("retrying", 40), ("sent", 1)] {
        db.execute(
            "INSERT INTO notify_deliveries (key, rule_id, rule_name, sink_id, sink_name, action, \
             condition, summary, message, state, updated_at) VALUES (gen_random_uuid(), $1, 'r', $2, \
             's', 'firing', 'failed', 's', '{}', $3, now() - make_interval(days => $4))",
            &[&rule, &sink, &state, &age],
        )
        .await
        .unwrap();
    }
    // A state for an object that no longer exists, failing for two hours; and a fresh one.
    for hours in [2, 0] {
        db.execute(
            "INSERT INTO notify_state (rule_id, object_id, state, since, item) \
             VALUES ($1, gen_random_uuid(), 'firing', now() - make_interval(hours => $2), '{}')",
            &[&rule, &hours],
        )
        .await
        .unwrap();
    }
    let deleted = env
        .store
        .notify_prune(Duration::from_secs(30 * 86_400), 100)
        .await
        .unwrap();
    assert_eq!(
        deleted, 3,
        "two old finished deliveries and one orphaned state"
    );
    let left: Vec<String> = db
        .query("SELECT state FROM notify_deliveries ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, ["retrying", "sent"]);
    let states: i64 = db
        .query_one("SELECT count(*) FROM notify_state", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(states, 1);
}
