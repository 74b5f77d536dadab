//! Every operation of the OpenAPI spec × every kind of caller: no credential, viewer, operator,
//! admin, an expired token, a revoked token, and an admin token scoped to other clusters. The
//! expected answer comes from the operation's `x-required-role` and `x-cluster-scope` in the
//! spec, so an operation added without a rule (or with the wrong one) fails here.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::endpoint::{client_with, create_token};
use crate::support::fleet::register_team;
use crate::support::stream::{deployment, kustomization, upsert, upsert_workload, write};

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
    let cluster = register_team(&server, "search", "search").await;
    write(
        &db.store(),
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
            if id == "deleteSession" {
                // Nobody here holds a session: a logout that ends none changes nothing and is
                // deliberately not audited (anyone could fill the table with them).
                assert!(
                    !audited.iter().any(|(o, _)| *o == id),
                    "no-op logouts audited"
                );
                continue;
            }
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
        let id = register_team(&server, name, team).await;
        write(
            &db.store(),
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
    // The timeline, its cluster-label filter and the fleet at a moment: the scope still
    // decides (a label selecting the other team's cluster selects nothing of it).
    let now = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for path in [
        "/api/v1/timeline?window=0".to_string(),
        "/api/v1/timeline?window=0&clusterLabel=team".to_string(),
        "/api/v1/timeline?window=0&clusterLabel=team%3Dsearch".to_string(),
        format!("/api/v1/resources?asOf={now}"),
    ] {
        let page: Value = get(&path).await.unwrap().json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        for item in items {
            let cluster = item
                .get("change")
                .map_or(&item["clusterId"], |c| &c["clusterId"]);
            assert_eq!(cluster, &json!(ids[0]), "{path}: {item}");
        }
        let expected = usize::from(!path.contains("search"));
        assert_eq!(items.len(), expected, "{path}: {page}");
    }
    for path in [
        "/api/v1/timeline?cluster=search",
        "/api/v1/rollouts?cluster=search",
    ] {
        assert_eq!(get(path).await.unwrap().status(), 403, "{path}");
    }
    let stats: Value = get(&format!("/api/v1/stats?asOf={now}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["clusters"].as_array().unwrap().len(), 1, "{stats}");
    assert_eq!(stats["health"]["total"], 1, "{stats}");
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

    // Reliability figures: only the objects and cluster labels in scope; another team's
    // cluster by name is refused.
    for path in [
        "/api/v1/reliability?group=object&window=24h",
        "/api/v1/reliability?group=label:team",
    ] {
        let report: Value = get(path).await.unwrap().json().await.unwrap();
        let groups = report["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 1, "{path}: {report}");
        assert_eq!(groups[0]["objects"], 1, "{path}: {report}");
        let key = groups[0]["key"].as_str().unwrap();
        assert!(
            key == "pay/Kustomization/apps/pay" || key == "payments",
            "{path}: {key}"
        );
    }
    assert_eq!(
        get("/api/v1/reliability?cluster=search")
            .await
            .unwrap()
            .status(),
        403
    );

    // Workloads (written last: the timeline above counts one object per cluster).
    for (id, name) in [(ids[0], "pay"), (ids[1], "search")] {
        let web = deployment("apps", name, name, "nginx:1.25.3");
        write(&db.store(), vec![upsert_workload(id, &web)]).await;
    }
    let workloads: Value = get("/api/v1/workloads?image=nginx")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        workloads["items"].as_array().unwrap().len(),
        1,
        "{workloads}"
    );
    assert_eq!(
        get("/api/v1/workloads?cluster=search")
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        workloads["items"][0]["clusterId"],
        json!(ids[0]),
        "{workloads}"
    );
}

/// Ways of spelling one id in a path: percent-encoded (every character, or one), upper case,
/// a trailing slash, dot segments, an empty segment.
fn spellings(prefix: &str, id: &str, suffix: &str) -> Vec<String> {
    let all: String = id.bytes().map(|b| format!("%{b:02X}")).collect();
    let one = format!("%{:02x}{}", id.as_bytes()[0], &id[1..]);
    vec![
        format!("{prefix}/{all}{suffix}"),
        format!("{prefix}/{one}{suffix}"),
        format!("{prefix}/{}{suffix}", id.to_uppercase()),
        format!("{prefix}/{id}{suffix}/"),
        format!("{prefix}/x/../{id}{suffix}"),
        format!("{prefix}/./{id}{suffix}"),
        format!("{prefix}//{id}{suffix}"),
    ]
}

/// Send `method path` verbatim (no client-side normalisation of dots or escapes); the status.
async fn raw(server: &TestServer, token: &str, method: &str, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = if method == "POST" { "{}" } else { "" };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = vec![0u8; 64];
    let n = tcp.read(&mut head).await.unwrap();
    let line = String::from_utf8_lossy(&head[..n]);
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn no_spelling_of_a_path_reaches_a_cluster_outside_the_scope() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let mut clusters = Vec::new();
    for (name, team) in [("c1", "payments"), ("c2", "search")] {
        let id = register_team(&server, name, team).await;
        write(
            &db.store(),
            vec![upsert(id, &kustomization("apps", name, false, 1))],
        )
        .await;
        clusters.push(id);
    }
    let theirs = flux_orchestrator::store::resource_id(
        clusters[1],
        "kustomize.toolkit.fluxcd.io",
        "Kustomization",
        "apps",
        "c2",
    );
    let (scoped, _) = create_token(&server, "payments", "admin", json!({"team": "payments"})).await;
    let targets = [
        ("GET", "/api/v1/clusters", "c2".to_string(), ""),
        ("GET", "/api/v1/clusters", clusters[1].to_string(), ""),
        ("POST", "/api/v1/clusters", "c2".to_string(), "/sync"),
        ("POST", "/api/v1/clusters", clusters[1].to_string(), "/sync"),
        ("GET", "/api/v1/resources", theirs.to_string(), ""),
        ("GET", "/api/v1/resources", theirs.to_string(), "/changes"),
        ("GET", "/api/v1/resources", theirs.to_string(), "/events"),
        ("GET", "/api/v1/resources", theirs.to_string(), "/graph"),
        ("GET", "/api/v1/resources", theirs.to_string(), "/impact"),
        ("POST", "/api/v1/resources", theirs.to_string(), "/suspend"),
        (
            "POST",
            "/api/v1/resources",
            theirs.to_string(),
            "/reconcile",
        ),
    ];
    let mut failures = Vec::new();
    for (method, prefix, id, suffix) in &targets {
        for path in spellings(prefix, id, suffix) {
            let status = raw(&server, &scoped, method, &path).await;
            if (200..300).contains(&status) || status >= 500 || status == 0 {
                failures.push(format!("{method} {path}: {status}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "reached the other team:\n{}",
        failures.join("\n")
    );
    let suspended: bool = db
        .client()
        .await
        .query_one(
            "SELECT suspended FROM flux_resources WHERE id = $1",
            &[&theirs],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!suspended);
    // The admin's encoded calls are the same calls: answered, and audited with their target.
    let encoded: String = clusters[1]
        .to_string()
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect();
    let status = raw(
        &server,
        server.token(),
        "GET",
        &format!("/api/v1/clusters/{encoded}"),
    )
    .await;
    assert_eq!(status, 200);
    let one = format!(
        "%{:02x}{}",
        theirs.to_string().as_bytes()[0],
        &theirs.to_string()[1..]
    );
    raw(
        &server,
        server.token(),
        "POST",
        &format!("/api/v1/resources/{one}/reconcile"),
    )
    .await;
    let row = db
        .client()
        .await
        .query_one(
            "SELECT cluster, object FROM audit_log WHERE operation = 'reconcileResource' \
             AND actor <> 'payments' ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("c2"));
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some("Kustomization/apps/c2")
    );
}
