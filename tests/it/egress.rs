//! The outbound address policy and the hygiene of cluster server URLs, end to end: the real
//! server and PostgreSQL, the simulator, and a plain HTTP server standing in for something
//! that is not an apiserver (a metadata service answering an unexpected request).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::{client_with, create_token, json_of, token_kubeconfig};
use crate::support::fleet::{
    FAST_INGEST, cluster_status, register, sim, wait_for, wait_in_sync, wait_state,
};

const TOKEN: &str = "sekret-token-7f3a9c1d0e";
const SYNC: Duration = Duration::from_secs(20);
const REFUSED: &str = "is refused by the outbound address policy (FLUXO_EGRESS_*)";

async fn post_cluster(server: &TestServer, body: &Value) -> (u16, Value) {
    let r = server.http().post(server.url("/api/v1/clusters"));
    json_of(r.json(body).send().await.expect("send")).await
}

async fn patch_cluster(server: &TestServer, id: &str, body: &Value) -> (u16, Value) {
    let r = server
        .http()
        .patch(server.url(&format!("/api/v1/clusters/{id}")));
    json_of(r.json(body).send().await.expect("send")).await
}

async fn new_token(server: &TestServer, role: &str) -> String {
    create_token(server, &format!("{role}-1"), role, Value::Null)
        .await
        .0
}

async fn get_text(server: &TestServer, token: &str, path: &str) -> String {
    let r = client_with(token).get(server.url(path)).send().await;
    let r = r.expect("send");
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.expect("body")
}

/// A kubeconfig for a plain-HTTP server (no CA: nothing to verify).
fn plain_kubeconfig(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: main\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: main\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: {TOKEN}\n"
    )
}

/// A plain HTTP server that answers every request with `status` and `body`, as a metadata
/// service or an internal web application answers requests that are not meant for it.
async fn answer_everything(status: u16, body: &'static str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 {status} Whatever\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(response.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn metadata_link_local_and_unspecified_servers_are_refused_at_registration_naming_the_address()
 {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let cases = [
        ("https://169.254.169.254", "169.254.169.254"),
        ("https://[fd00:ec2::254]", "fd00:ec2::254"),
        ("https://0.0.0.0:6443", "0.0.0.0"),
        (
            "https://[::ffff:169.254.169.254]:443",
            "::ffff:169.254.169.254",
        ),
        ("https://169.254.10.1:6443", "169.254.10.1"),
        ("https://[fe80::1]:6443", "fe80::1"),
        // A name the system resolver reads as a number: checked on what it resolves to.
        ("https://0xa9fea9fe", "169.254.169.254"),
    ];
    for (i, (url, addr)) in cases.into_iter().enumerate() {
        let body = json!({"name": format!("c{i}"), "kubeconfig": token_kubeconfig(url, TOKEN)});
        let (status, err) = post_cluster(&server, &body).await;
        assert_eq!(
            (status, &err["code"]),
            (400, &json!("address_refused")),
            "{url}: {err}"
        );
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("address {addr} {REFUSED}")),
            "{url}: {message}"
        );
    }

    let body =
        json!({"name": "ok", "kubeconfig": token_kubeconfig("https://10.0.0.1:6443", TOKEN)});
    let (status, created) = post_cluster(&server, &body).await;
    assert_eq!(status, 201, "private addresses are allowed: {created}");
    let moved = json!({"kubeconfig": token_kubeconfig("https://169.254.169.254", TOKEN)});
    let (status, err) = patch_cluster(&server, "ok", &moved).await;
    assert_eq!(
        (status, &err["code"]),
        (400, &json!("address_refused")),
        "{err}"
    );

    let list = get_text(&server, server.token(), "/api/v1/clusters").await;
    let list: Value = serde_json::from_str(&list).unwrap();
    let urls: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["serverUrl"])
        .collect();
    assert_eq!(
        urls,
        [&json!("https://10.0.0.1:6443")],
        "nothing refused was stored"
    );
}

#[tokio::test]
async fn credentials_in_the_server_url_are_refused_and_never_echoed_or_logged() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    for (i, url) in [
        "https://admin:hunter2-pw@k.example.com:6443",
        "https://hunter2-tok@10.0.0.1",
        "http://admin:hunter2-pw@10.0.0.1:8080",
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"name": format!("c{i}"), "kubeconfig": token_kubeconfig(url, TOKEN), "allowInsecure": true});
        let (status, err) = post_cluster(&server, &body).await;
        assert_eq!(
            (status, &err["code"]),
            (400, &json!("kubeconfig_refused")),
            "{url}: {err}"
        );
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains("must not contain credentials"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
    }
    let body =
        json!({"name": "ok", "kubeconfig": token_kubeconfig("https://10.0.0.1:6443", TOKEN)});
    assert_eq!(post_cluster(&server, &body).await.0, 201);
    let moved = json!({"kubeconfig": token_kubeconfig("https://admin:hunter2-pw@10.0.0.2", TOKEN)});
    let (status, err) = patch_cluster(&server, "ok", &moved).await;
    assert_eq!(
        (status, &err["code"]),
        (400, &json!("kubeconfig_refused")),
        "{err}"
    );

    let list = get_text(&server, server.token(), "/api/v1/clusters").await;
    assert!(!list.contains("hunter2"), "{list}");
    assert!(!server.logs().contains("hunter2"), "{}", server.logs());
}

/// The connect-time check on a resolved name: registered while loopback was allowed (the
/// default), then refused once the policy denies it, as when a name's DNS answer changes after
/// registration. The same for an IP-literal server, which never passes through the resolver.
#[tokio::test]
async fn a_cluster_whose_address_is_refused_at_connect_time_is_never_reached_and_says_why() {
    let db = TestDb::create().await;
    let key_dir = tempfile::tempdir().unwrap();
    let key = key_dir.path().join("key");
    let sim = sim("local", 2).await;
    let by_name = sim
        .kubeconfig_yaml()
        .replace("https://127.0.0.1:", "https://localhost:");
    assert!(by_name.contains("https://localhost:"), "{by_name}");

    let first = TestServer::start_with_key(&db.url(), FAST_INGEST, &key).await;
    first.wait_ready().await;
    let named = register(&first, "by-name", &by_name).await;
    let literal = register(&first, "by-address", &sim.kubeconfig_yaml()).await;
    for id in [named, literal] {
        wait_state(&first, id, "ready", SYNC).await;
    }
    first.stop().await.expect("a clean stop");
    tokio::time::sleep(Duration::from_millis(300)).await;
    sim.request_counts().reset();

    let mut deny = FAST_INGEST.to_vec();
    deny.extend(["--egress-deny", "127.0.0.0/8,::1/128"]);
    let second = TestServer::start_with_key(&db.url(), &deny, &key).await;
    second.wait_ready().await;
    for id in [named, literal] {
        wait_for("the policy's message in the status", SYNC, || async {
            let status = cluster_status(&second, id).await;
            let message = status["message"].as_str().unwrap_or_default().to_string();
            status["state"] == "unreachable"
                && (message.contains(&format!("address 127.0.0.1 {REFUSED}"))
                    || message.contains(&format!("address ::1 {REFUSED}")))
        })
        .await;
    }
    // Let the supervisors retry a few times.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts = sim.request_counts();
    assert_eq!(
        (counts.bytes_received(), counts.snapshot().len()),
        (0, 0),
        "nothing reached the cluster: {:?}",
        counts.snapshot()
    );
}

#[tokio::test]
async fn viewers_and_operators_read_only_the_status_code_of_what_a_cluster_answered() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let secret = "AKIAEXAMPLE-role-credentials-wJalrXUtnFEMI";
    let imds = answer_everything(401, secret).await;
    let body = json!({"name": "imds", "kubeconfig": plain_kubeconfig(&format!("http://{imds}")), "allowInsecure": true});
    let (status, created) = post_cluster(&server, &body).await;
    assert_eq!(status, 201, "{created}");
    let imds = Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    let sim = sim("rbac", 2).await;
    sim.faults().forbid_resource("helmreleases", true);
    let rbac = register(&server, "rbac", &sim.kubeconfig_yaml()).await;
    // It answers 401 to everything: the credentials are refused (what it said stays hidden).
    wait_state(&server, imds, "unauthorized", SYNC).await;
    wait_for("HelmRelease forbidden", SYNC, || async {
        cluster_status(&server, rbac).await["kinds"]["HelmRelease"]["state"] == "forbidden"
    })
    .await;

    let remote_text = [secret, "is forbidden: User"];
    for role in ["viewer", "operator"] {
        let token = new_token(&server, role).await;
        for path in [
            format!("/api/v1/clusters/{imds}"),
            format!("/api/v1/clusters/{rbac}"),
            "/api/v1/clusters".to_string(),
            "/api/v1/stats".to_string(),
        ] {
            let text = get_text(&server, &token, &path).await;
            for remote in remote_text {
                assert!(!text.contains(remote), "{role} {path}: {text}");
            }
        }
        let v: Value = serde_json::from_str(
            &get_text(&server, &token, &format!("/api/v1/clusters/{imds}")).await,
        )
        .unwrap();
        let message = v["status"]["message"].as_str().unwrap();
        assert!(message.contains("401 Unauthorized"), "{message}");
        assert!(v["status"]["detail"].is_null(), "{v}");
        let v: Value = serde_json::from_str(
            &get_text(&server, &token, &format!("/api/v1/clusters/{rbac}")).await,
        )
        .unwrap();
        let kind = &v["status"]["kinds"]["HelmRelease"];
        assert!(
            kind["message"].as_str().unwrap().contains("403 Forbidden"),
            "{kind}"
        );
        assert!(kind["detail"].is_null(), "{kind}");
    }

    let admin = cluster_status(&server, imds).await;
    assert!(
        admin["detail"].as_str().unwrap().contains(secret),
        "{admin}"
    );
    let admin = cluster_status(&server, rbac).await;
    let detail = admin["kinds"]["HelmRelease"]["detail"].as_str().unwrap();
    assert!(detail.contains("is forbidden: User"), "{admin}");
}

#[tokio::test]
async fn an_operator_whose_action_the_cluster_refuses_reads_the_status_code_not_the_answer() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let sim = sim("act", 2).await;
    let id = register(&server, "act", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, id, &sim, SYNC).await;
    let ks: Uuid = client
        .query_one(
            "SELECT id FROM flux_resources WHERE cluster_id = $1 AND kind = 'Kustomization' LIMIT 1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    sim.faults().forbid_resource("kustomizations", true);
    let operator = new_token(&server, "operator").await;
    let r = client_with(&operator)
        .post(server.url(&format!("/api/v1/resources/{ks}/reconcile")))
        .send()
        .await
        .unwrap();
    let (status, err) = json_of(r).await;
    assert_eq!(
        (status, &err["code"]),
        (502, &json!("cluster_refused")),
        "{err}"
    );
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("403 Forbidden"), "{message}");
    assert!(!message.contains("is forbidden: User"), "{message}");
    assert!(
        server.logs().contains("is forbidden: User"),
        "the full answer is logged for admins"
    );
}
