//! Actions through the API, performed on a simulated cluster whose controller answers.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::{FAST_INGEST, register, sim, wait_for, wait_in_sync, wait_state};

const SYNC: Duration = Duration::from_secs(20);

async fn resource_id(
    db: &tokio_postgres::Client,
    cluster: Uuid,
    kind: &str,
    suspended: bool,
) -> Uuid {
    db.query_one(
        "SELECT id FROM flux_resources WHERE cluster_id = $1 AND kind = $2 AND suspended = $3 ORDER BY name LIMIT 1",
        &[&cluster, &kind, &suspended],
    )
    .await
    .unwrap()
    .get(0)
}

async fn row(db: &tokio_postgres::Client, id: Uuid) -> (Option<String>, bool, Option<String>) {
    let r = db
        .query_one("SELECT last_handled_reconcile_at, suspended, message FROM flux_resources WHERE id = $1", &[&id])
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

async fn post(server: &TestServer, path: &str, body: Option<Value>) -> (u16, Value) {
    let http = server.http();
    let mut req = http.post(server.url(path));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn reconcile_suspend_resume_force_and_reset_reach_the_cluster_and_come_back_handled() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let sim = sim("acts", 3).await;
    let cluster = register(&server, "acts", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, cluster, &sim, SYNC).await;
    wait_state(&server, cluster, "ready", SYNC).await;

    let ks = resource_id(&client, cluster, "Kustomization", false).await;
    let (status, body) = post(
        &server,
        &format!("/api/v1/resources/{ks}/reconcile?withSource=true"),
        None,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    let patched = body["patched"].as_array().unwrap();
    assert_eq!(patched.len(), 2, "source first, then the object: {body}");
    assert!(
        patched[0].as_str().unwrap().starts_with("GitRepository/"),
        "{body}"
    );
    wait_for("reconcile handled", SYNC, || async {
        row(&client, ks).await.0.as_deref() == Some(token.as_str())
    })
    .await;

    let (status, body) = post(
        &server,
        &format!("/api/v1/resources/{ks}/suspend"),
        Some(json!({"reason": "maintenance window"})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    wait_for("suspended", SYNC, || async { row(&client, ks).await.1 }).await;
    assert_eq!(
        row(&client, ks).await.2.as_deref(),
        Some("maintenance window"),
        "the reason is the message"
    );
    let (status, body) = post(&server, &format!("/api/v1/resources/{ks}/reconcile"), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("action_not_applicable")),
        "{body}"
    );

    let (status, body) = post(&server, &format!("/api/v1/resources/{ks}/resume"), None).await;
    assert_eq!(status, 202, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    wait_for("resumed and handled", SYNC, || async {
        let (handled, suspended, _) = row(&client, ks).await;
        !suspended && handled.as_deref() == Some(token.as_str())
    })
    .await;

    let (status, body) = post(&server, &format!("/api/v1/resources/{ks}/force"), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("action_not_supported")),
        "force is for HelmReleases: {body}"
    );
    let hr = resource_id(&client, cluster, "HelmRelease", false).await;
    for action in ["force", "reset"] {
        let (status, body) = post(&server, &format!("/api/v1/resources/{hr}/{action}"), None).await;
        assert_eq!(status, 202, "{action}: {body}");
        let token = body["token"].as_str().unwrap().to_string();
        wait_for(action, SYNC, || async {
            row(&client, hr).await.0.as_deref() == Some(token.as_str())
        })
        .await;
        let obj = sim
            .objects()
            .list("HelmRelease", None)
            .into_iter()
            .find(|o| o["status"]["lastHandledReconcileAt"] == json!(token))
            .unwrap();
        let field = if action == "force" {
            "lastHandledForceAt"
        } else {
            "lastHandledResetAt"
        };
        assert_eq!(
            obj["status"][field],
            json!(token),
            "{action} handled by the controller"
        );
    }
}

#[tokio::test]
async fn actions_on_unknown_objects_bad_input_and_unreachable_clusters_fail_clearly() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let (status, body) = post(
        &server,
        &format!("/api/v1/resources/{}/reconcile", Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, _) = post(&server, "/api/v1/resources/not-a-uuid/reconcile", None).await;
    assert_eq!(status, 400);

    let sim = sim("gone", 2).await;
    let cluster = register(&server, "gone", &sim.kubeconfig_yaml()).await;
    let client = db.client().await;
    wait_in_sync(&client, cluster, &sim, SYNC).await;
    let ks = resource_id(&client, cluster, "Kustomization", false).await;
    let (status, body) = post(
        &server,
        &format!("/api/v1/resources/{ks}/suspend"),
        Some(json!({"reason": "x", "extra": 1})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let long = "r".repeat(513);
    let (status, body) = post(
        &server,
        &format!("/api/v1/resources/{ks}/suspend"),
        Some(json!({"reason": long})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid")),
        "{body}"
    );

    sim.shutdown().await;
    wait_state(&server, cluster, "unreachable", Duration::from_secs(30)).await;
    let started = std::time::Instant::now();
    let (status, body) = post(&server, &format!("/api/v1/resources/{ks}/reconcile"), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("cluster_unreachable")),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "fails fast: {:?}",
        started.elapsed()
    );
}
