//! Notifications: sinks, rules and mutes through the API (credentials sealed, bad input named),
//! and test messages to a local webhook receiver (HMAC checked) and a real Alertmanager.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::{client_with, create_token};

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
            json!({"name": "h", "kind": "slack", "url": "https://example.com"}),
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
