//! The cluster registry through the real server and a fresh database.

use serde_json::{Value, json};

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::{json_of, token_kubeconfig};

const TOKEN: &str = "sekret-token-7f3a9c1d0e";

async fn setup() -> (TestDb, TestServer, reqwest::Client) {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let http = server.http();
    (db, server, http)
}

fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn clusters_can_be_created_listed_fetched_updated_and_deleted() {
    let (_db, server, http) = setup().await;
    let create = json!({
        "name": "prod-eu-1",
        "description": "Production, Frankfurt",
        "labels": {"team": "payments", "env": "prod"},
        "kubeconfig": token_kubeconfig("https://prod.example.com:6443", TOKEN),
    });
    let (status, created) = json_of(
        http.post(server.url("/api/v1/clusters"))
            .json(&create)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "prod-eu-1");
    assert_eq!(created["serverUrl"], "https://prod.example.com:6443");
    assert_eq!(created["context"], "main");
    assert_eq!(created["source"], "kubeconfig");
    assert_eq!(created["insecure"], false);
    assert_eq!(
        created["labels"],
        json!({"team": "payments", "env": "prod"})
    );
    let id = created["id"].as_str().unwrap().to_string();

    let (status, list) = json_of(
        http.get(server.url("/api/v1/clusters"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // The status appears once a replica watches the cluster, which may happen at any moment.
    let without_status = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("status");
        v
    };
    assert_eq!(without_status(&list["items"][0]), without_status(&created));

    for key in [&id, "prod-eu-1"] {
        let (status, got) = json_of(
            http.get(server.url(&format!("/api/v1/clusters/{key}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, without_status(&got)),
            (200, without_status(&created))
        );
    }

    let patch = json!({"name": "prod-eu-2", "labels": {"team": "core"}, "description": "moved"});
    let (status, updated) = json_of(
        http.patch(server.url(&format!("/api/v1/clusters/{id}")))
            .json(&patch)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "prod-eu-2");
    assert_eq!(updated["labels"], json!({"team": "core"}));
    assert_eq!(
        updated["serverUrl"], "https://prod.example.com:6443",
        "connection kept"
    );

    let new_kubeconfig =
        json!({"kubeconfig": token_kubeconfig("https://new.example.com", "other-token")});
    let (status, moved) = json_of(
        http.patch(server.url("/api/v1/clusters/prod-eu-2"))
            .json(&new_kubeconfig)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["serverUrl"], "https://new.example.com");
    assert_eq!(moved["name"], "prod-eu-2");

    let r = http
        .delete(server.url(&format!("/api/v1/clusters/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, body) = json_of(
        http.get(server.url(&format!("/api/v1/clusters/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = json_of(
        http.delete(server.url(&format!("/api/v1/clusters/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 404, "not_found");
}

#[tokio::test]
async fn refused_kubeconfigs_get_400_naming_the_reason() {
    let (_db, server, http) = setup().await;
    let good = token_kubeconfig("https://k.example.com", TOKEN);
    let exec = good.replace(
        &format!("    token: {TOKEN}\n"),
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [-c, id]\n",
    );
    let provider = good.replace(
        &format!("    token: {TOKEN}\n"),
        "    auth-provider:\n      name: oidc\n      config: {}\n",
    );
    let token_file = good.replace(
        &format!("    token: {TOKEN}\n"),
        "    tokenFile: /etc/shadow\n",
    );
    let ca_path = good.replace(
        "certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
        "certificate-authority: /etc/ssl/ca.pem",
    );
    let insecure = good.replace(
        "    server:",
        "    insecure-skip-tls-verify: true\n    server:",
    );
    let http_server = token_kubeconfig("http://k.example.com:8080", TOKEN);
    let cases = [
        (exec, "exec credential plugins are not allowed"),
        (provider, "auth-provider \"oidc\" is not allowed"),
        (token_file, "tokenFile refers to a file path"),
        (ca_path, "certificate-authority refers to a file path"),
        (insecure.clone(), "insecure-skip-tls-verify is set"),
        (http_server.clone(), "uses plain http://"),
        ("not: [a kubeconfig".to_string(), "kubeconfig is not valid"),
    ];
    for (i, (kubeconfig, message)) in cases.into_iter().enumerate() {
        let body = json!({"name": format!("c{i}"), "kubeconfig": kubeconfig});
        let (status, err) = json_of(
            http.post(server.url("/api/v1/clusters"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_error(status, &err, 400, "kubeconfig_refused");
        assert!(
            err["message"].as_str().unwrap().contains(message),
            "want {message:?}, got {err}"
        );
    }
    let (_, list) = json_of(
        http.get(server.url("/api/v1/clusters"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["items"], json!([]), "nothing half-written");

    for (name, kubeconfig) in [("insecure", insecure), ("plain", http_server)] {
        let body = json!({"name": name, "kubeconfig": kubeconfig, "allowInsecure": true});
        let (status, created) = json_of(
            http.post(server.url("/api/v1/clusters"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["insecure"], true);
    }
}

#[tokio::test]
async fn bad_requests_get_json_errors_not_500() {
    let (_db, server, http) = setup().await;
    let url = server.url("/api/v1/clusters");
    let kubeconfig = token_kubeconfig("https://k.example.com", TOKEN);

    let body = json!({"name": "a", "kubeconfig": kubeconfig});
    assert_eq!(
        http.post(&url).json(&body).send().await.unwrap().status(),
        201
    );
    let (status, err) = json_of(http.post(&url).json(&body).send().await.unwrap()).await;
    assert_error(status, &err, 409, "conflict");

    let unknown = json!({"name": "b", "kubeconfig": kubeconfig, "server": "https://x"});
    let (status, err) = json_of(http.post(&url).json(&unknown).send().await.unwrap()).await;
    assert_error(status, &err, 400, "invalid_body");
    assert!(err["message"].as_str().unwrap().contains("server"), "{err}");

    for bad_name in ["Bad_Name", "", "6f1c1a3e-5b7e-4a8b-9c3d-2e1f0a9b8c7d"] {
        let (status, err) = json_of(
            http.post(&url)
                .json(&json!({"name": bad_name, "kubeconfig": kubeconfig}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_error(status, &err, 400, "invalid");
    }
    let (status, err) = json_of(
        http.post(&url)
            .json(&json!({"name": "c", "kubeconfig": kubeconfig, "labels": {"bad key": "v"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &err, 400, "invalid");

    let (status, err) = json_of(
        http.post(&url)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &err, 400, "invalid_body");
    let (status, err) = json_of(
        http.post(&url)
            .json(&json!({"name": 5}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &err, 400, "invalid_body");
    assert_eq!(err["message"], "field `kubeconfig` is required: a string");
    let (status, _) = json_of(
        http.post(&url)
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 415);

    let (status, err) = json_of(
        http.patch(server.url("/api/v1/clusters/a"))
            .json(&json!({"context": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &err, 400, "invalid");
    let (status, err) = json_of(
        http.patch(server.url("/api/v1/clusters/a"))
            .json(&json!({"name": "a", "extra": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &err, 400, "invalid_body");
    assert_eq!(
        http.post(&url)
            .json(&json!({"name": "z", "kubeconfig": kubeconfig}))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let (status, err) = json_of(
        http.patch(server.url("/api/v1/clusters/z"))
            .json(&json!({"name": "a"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &err, 409, "conflict");

    let (status, err) = json_of(
        http.get(server.url("/api/v1/nothing-here"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &err, 404, "not_found");
    let (status, err) = json_of(http.put(&url).json(&json!({})).send().await.unwrap()).await;
    assert_error(status, &err, 405, "method_not_allowed");
}

#[tokio::test]
async fn oversize_bodies_get_413_with_or_without_content_length() {
    let (_db, server, http) = setup().await;
    let url = server.url("/api/v1/clusters");
    let huge = "x".repeat(1024 * 1024 + 1);
    let body = json!({"name": "big", "kubeconfig": huge});
    let (status, err) = json_of(http.post(&url).json(&body).send().await.unwrap()).await;
    assert_error(status, &err, 413, "payload_too_large");

    let bytes = serde_json::to_vec(&body).unwrap();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let streamed = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let (status, err) = json_of(
        http.post(&url)
            .header("content-type", "application/json")
            .body(streamed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &err, 413, "payload_too_large");
}

#[tokio::test]
async fn credentials_never_appear_in_responses_logs_or_the_database_in_clear() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let http = server.http();
    let url = server.url("/api/v1/clusters");
    let key_data = "c2VrcmV0LWtleS1kYXRhLTk5MzE=";
    let cert_kubeconfig = token_kubeconfig("https://k.example.com", TOKEN).replace(
        &format!("    token: {TOKEN}\n"),
        &format!("    client-certificate-data: Y2VydA==\n    client-key-data: {key_data}\n"),
    );
    let mut bodies = Vec::new();
    for (name, kubeconfig) in [
        ("tok", token_kubeconfig("https://k.example.com", TOKEN)),
        ("cert", cert_kubeconfig),
    ] {
        let r = http
            .post(&url)
            .json(&json!({"name": name, "kubeconfig": kubeconfig}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        bodies.push(r.text().await.unwrap());
    }
    // A token pasted where the parser chokes, and a refused kubeconfig carrying a token.
    let broken = format!("clusters: \"{TOKEN}\"\n");
    let refused = token_kubeconfig("http://k.example.com", TOKEN);
    for kubeconfig in [broken, refused] {
        let r = http
            .post(&url)
            .json(&json!({"name": "bad", "kubeconfig": kubeconfig}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        bodies.push(r.text().await.unwrap());
    }
    let r = http
        .patch(server.url("/api/v1/clusters/tok"))
        .json(&json!({"kubeconfig": token_kubeconfig("https://k2.example.com", TOKEN)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    bodies.push(r.text().await.unwrap());
    for path in [
        "/api/v1/clusters",
        "/api/v1/clusters/tok",
        "/api/v1/clusters/cert",
    ] {
        bodies.push(
            http.get(server.url(path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    let logs = server.logs();
    assert!(
        logs.contains("cluster registered"),
        "logs were captured:\n{logs}"
    );
    for secret in [TOKEN, key_data] {
        for body in &bodies {
            assert!(!body.contains(secret), "secret in a response: {body}");
        }
        assert!(!logs.contains(secret), "secret in the logs:\n{logs}");
    }
    let client = db.client().await;
    for row in client
        .query(
            "SELECT credentials, labels::text, server_url FROM clusters",
            &[],
        )
        .await
        .unwrap()
    {
        let sealed: Vec<u8> = row.get(0);
        assert!(sealed.len() > 28, "credentials are stored");
        for secret in [TOKEN, key_data] {
            assert!(
                !sealed.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "secret stored in clear"
            );
        }
    }
}

/// A burst of registrations on a small pool: each registration holds one pooled connection at a
/// time, so none waits for a second while holding the first (which deadlocks the pool until the
/// acquire timeout and answers 503).
#[tokio::test]
async fn a_burst_of_registrations_does_not_exhaust_a_small_pool() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(
        &db.url(),
        &["--db-pool-size", "2", "--db-timeout-secs", "2"],
    )
    .await;
    server.wait_ready().await;
    let http = server.http();
    let requests = (0..12).map(|i| {
        let (http, url) = (http.clone(), server.url("/api/v1/clusters"));
        let body = json!({"name": format!("burst-{i}"), "kubeconfig": token_kubeconfig("https://127.0.0.1:9", TOKEN)});
        async move { json_of(http.post(url).json(&body).send().await.expect("send")).await }
    });
    for (status, body) in futures::future::join_all(requests).await {
        assert_eq!(status, 201, "{body}");
    }
    let (status, list) = json_of(
        http.get(server.url("/api/v1/clusters"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(12), "{list}");
}

#[tokio::test]
async fn the_cluster_list_says_how_often_backstop_relists_run_or_that_they_are_off() {
    let db = TestDb::create().await;
    for (args, expected) in [
        (&[][..], json!(600)),
        (&["--resync-interval-secs", "90"][..], json!(90)),
        (&["--resync-interval-secs", "0"][..], Value::Null),
    ] {
        let server = TestServer::start_with(&db.url(), args).await;
        server.wait_ready().await;
        let (status, list) = json_of(
            server
                .http()
                .get(server.url("/api/v1/clusters"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["resyncIntervalSecs"], expected, "{args:?}: {list}");
        server.stop().await.expect("a clean stop");
    }
}
