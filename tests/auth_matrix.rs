//! Every operation of the OpenAPI spec × every kind of caller: no credential, viewer, operator,
//! admin, an expired token, a revoked token, and an admin token scoped to other clusters. The
//! expected answer comes from the operation's `x-required-role` and `x-cluster-scope` in the
//! spec, so an operation added without a rule (or with the wrong one) fails here.

mod common;
mod stream_support;

use common::{TestDb, TestServer, client_with, token_kubeconfig};
use serde_json::{Value, json};
use stream_support::{kustomization, store, upsert, write};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Anonymous,
    Role(u8),
    Expired,
    Revoked,
    WrongScope,
}

struct Caller {
    name: &'static str,
    kind: Kind,
    http: reqwest::Client,
}

/// Rank of a role name (the spec's `x-required-role`).
fn rank(role: &str) -> Option<u8> {
    ["viewer", "operator", "admin"]
        .iter()
        .position(|r| *r == role)
        .map(|p| p as u8)
}

async fn create_token(server: &TestServer, name: &str, role: &str, scope: Value) -> (String, Uuid) {
    let body = json!({"name": name, "role": role, "scope": scope});
    let r = server
        .http()
        .post(server.url("/api/v1/tokens"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap().parse().unwrap();
    (v["token"].as_str().unwrap().to_string(), id)
}

async fn callers(server: &TestServer, db: &TestDb) -> Vec<Caller> {
    let (viewer, _) = create_token(server, "viewer", "viewer", Value::Null).await;
    let (operator, _) = create_token(server, "operator", "operator", Value::Null).await;
    let (expired, expired_id) = create_token(server, "expired", "admin", Value::Null).await;
    let (revoked, revoked_id) = create_token(server, "revoked", "admin", Value::Null).await;
    let (scoped, _) = create_token(server, "scoped", "admin", json!({"team": "payments"})).await;
    db.client()
        .await
        .execute(
            "UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1",
            &[&expired_id],
        )
        .await
        .unwrap();
    let r = server
        .http()
        .delete(server.url(&format!("/api/v1/tokens/{revoked_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let caller = |name, kind, token: &str| Caller {
        name,
        kind,
        http: client_with(token),
    };
    vec![
        Caller {
            name: "anonymous",
            kind: Kind::Anonymous,
            http: reqwest::Client::new(),
        },
        caller("viewer", Kind::Role(0), &viewer),
        caller("operator", Kind::Role(1), &operator),
        caller("admin", Kind::Role(2), server.token()),
        caller("expired", Kind::Expired, &expired),
        caller("revoked", Kind::Revoked, &revoked),
        caller("wrong-scope", Kind::WrongScope, &scoped),
    ]
}

/// True when `caller` may call an operation with this role and scope rule.
fn allowed(kind: Kind, role: &str, scope: &str) -> bool {
    if role == "public" {
        return true;
    }
    match kind {
        Kind::Anonymous | Kind::Expired | Kind::Revoked => false,
        Kind::Role(have) => rank(role).is_none_or(|need| have >= need),
        Kind::WrongScope => matches!(scope, "any" | "list" | "filtered"),
    }
}

/// A request for operation `op` at `path` (parameters filled in) with a plausible body.
fn request(
    http: &reqwest::Client,
    server: &TestServer,
    method: &str,
    path: &str,
    op: &str,
) -> reqwest::RequestBuilder {
    let url = server.url(path);
    let builder = http.request(method.to_uppercase().parse().unwrap(), url);
    let body = match op {
        "createCluster" => json!({"name": "new", "kubeconfig": "not: [a kubeconfig"}),
        "updateCluster" => json!({"description": "matrix"}),
        "createToken" => json!({"name": "made-by-matrix", "role": "viewer"}),
        "suspendResource" => json!({"reason": "matrix"}),
        "createSession" => json!({"token": server.token()}),
        _ => return builder,
    };
    builder.json(&body)
}

/// `path` with its `{id}` filled: a real cluster or resource (so scopes apply), or an unknown
/// id where the operation would destroy something the matrix still needs.
fn fill(path: &str, op: &str, cluster: Uuid, resource: Uuid) -> String {
    let id = match op {
        "deleteCluster" | "revokeToken" => Uuid::new_v4(),
        _ if path.starts_with("/api/v1/clusters") => cluster,
        _ => resource,
    };
    path.replace("{id}", &id.to_string())
}

#[tokio::test]
async fn every_operation_answers_every_kind_of_caller_as_its_rule_says() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let body = json!({"name": "search", "labels": {"team": "search"},
                      "kubeconfig": token_kubeconfig("https://127.0.0.1:1", "t0ken-matrix")});
    let r = server
        .http()
        .post(server.url("/api/v1/clusters"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let cluster: Uuid = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    write(
        &store(&db.url()),
        vec![upsert(cluster, &kustomization("apps", "web", true, 1))],
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
    let resource: Uuid = page["items"][0]["id"].as_str().unwrap().parse().unwrap();
    let callers = callers(&server, &db).await;

    let spec: Value = serde_json::from_str(&flux_orchestrator::api::spec_json()).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            let role = op["x-required-role"].as_str().expect("x-required-role");
            let scope = op["x-cluster-scope"].as_str().expect("x-cluster-scope");
            let url = fill(path, id, cluster, resource);
            for caller in &callers {
                let status = request(&caller.http, &server, method, &url, id)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16();
                let ok = match (allowed(caller.kind, role, scope), caller.kind) {
                    (true, _) => status != 401 && status != 403,
                    (false, Kind::Anonymous | Kind::Expired | Kind::Revoked) => status == 401,
                    (false, _) => status == 403,
                };
                checked += 1;
                if !ok {
                    failures.push(format!(
                        "{method} {url} ({id}, {role}, {scope}) as {}: {status}",
                        caller.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 7 * 25, "only {checked} requests");

    // Every mutating operation left audit rows: the admin's, and the refusals (403).
    let audited: Vec<(String, String)> = db
        .client()
        .await
        .query("SELECT DISTINCT operation, result FROM audit_log", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap().iter().filter(|(m, _)| *m != "get") {
            let id = op["operationId"].as_str().unwrap().to_string();
            assert!(
                audited.iter().any(|(o, _)| *o == id),
                "{method} {path} ({id}) left no audit row"
            );
            if op["x-required-role"] != "public" {
                let denied = audited.iter().any(|(o, r)| *o == id && r == "denied");
                assert!(denied, "{method} {path} ({id}): refusals are not audited");
            }
        }
    }
}

#[tokio::test]
async fn a_scoped_token_lists_only_the_clusters_and_objects_in_its_scope() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let mut ids = Vec::new();
    for (name, team) in [("pay", "payments"), ("search", "search")] {
        let body = json!({"name": name, "labels": {"team": team},
                          "kubeconfig": token_kubeconfig("https://127.0.0.1:1", "t0ken-scope")});
        let r = server
            .http()
            .post(server.url("/api/v1/clusters"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let id: Uuid = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        write(
            &store(&db.url()),
            vec![upsert(id, &kustomization("apps", name, true, 1))],
        )
        .await;
        ids.push(id);
    }
    let (token, _) = create_token(
        &server,
        "payments-operator",
        "operator",
        json!({"team": "payments"}),
    )
    .await;
    let http = client_with(&token);
    let get = |path: &str| http.get(server.url(path)).send();
    let clusters: Value = get("/api/v1/clusters").await.unwrap().json().await.unwrap();
    let names: Vec<&str> = clusters["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pay"]);
    for path in ["/api/v1/resources", "/api/v1/changes", "/api/v1/events"] {
        let page: Value = get(path).await.unwrap().json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["clusterId"], json!(ids[0]), "{path}: {item}");
        }
    }
    let page: Value = get("/api/v1/resources")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let stats: Value = get("/api/v1/stats").await.unwrap().json().await.unwrap();
    let names: Vec<&str> = stats["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pay"], "{stats}");
    assert_eq!(
        get("/api/v1/resources?cluster=search")
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        get(&format!("/api/v1/clusters/{}", ids[1]))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        get(&format!("/api/v1/clusters/{}", ids[0]))
            .await
            .unwrap()
            .status(),
        200
    );
    let sync = |id: Uuid| {
        http.post(server.url(&format!("/api/v1/clusters/{id}/sync")))
            .send()
    };
    assert_eq!(sync(ids[0]).await.unwrap().status(), 202);
    assert_eq!(sync(ids[1]).await.unwrap().status(), 403);
}
