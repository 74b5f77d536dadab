//! Requests the framework cannot parse get a 400 that names the parameter or body field, says
//! what it must be (enum values and bounds from the spec) and echoes what was sent — never the
//! framework's internals (`param0`, `string_uuid`, `occurred while parsing "list_Health"`).

use serde_json::{Value, json};

use crate::support::app::TestServer;
use crate::support::db::TestDb;

async fn answer(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body)
}

fn assert_readable(status: u16, body: &Value, code: &str, message: &str) {
    assert_eq!((status, body["code"].as_str()), (400, Some(code)), "{body}");
    let got = body["message"].as_str().unwrap_or_default();
    assert_eq!(got, message);
    for internal in [
        "param0",
        "string_uuid",
        "occurred while parsing",
        "list_",
        "failed to parse",
    ] {
        assert!(!got.contains(internal), "{internal} in {got}");
    }
}

/// The values of an enum schema of the served spec, as a message lists them.
fn enum_values(spec: &Value, schema: &str) -> String {
    let values = spec["components"]["schemas"][schema]["enum"]
        .as_array()
        .expect("enum");
    let names: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
    names.join(", ")
}

#[tokio::test]
async fn unparsable_parameters_and_bodies_are_named_with_what_they_must_be() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let http = server.http();
    let get = |path: &str| http.get(server.url(path));
    let spec: Value = answer(get("/api/v1/openapi.json")).await.1;
    let health = enum_values(&spec, "Health");
    assert!(health.starts_with("ready, progressing, failed"), "{health}");

    let (status, body) = answer(get("/api/v1/resources/not-a-uuid")).await;
    let uuid = "parameter `id` must be a UUID (got \"not-a-uuid\")";
    assert_readable(status, &body, "invalid_parameter", uuid);
    let (status, body) = answer(get("/api/v1/resources/not-a-uuid/changes")).await;
    assert_readable(status, &body, "invalid_parameter", uuid);
    let (status, body) = answer(http.delete(server.url("/api/v1/tokens/x%20y"))).await;
    let spaced = "parameter `id` must be a UUID (got \"x y\")";
    assert_readable(status, &body, "invalid_parameter", spaced);

    let (status, body) = answer(get("/api/v1/resources?health=ready&health=bad")).await;
    let message = format!("parameter `health` must be one of {health} (got \"bad\")");
    assert_readable(status, &body, "invalid_parameter", &message);
    let (status, body) = answer(get("/api/v1/resources?sort=size")).await;
    let sorts = enum_values(&spec, "ResourceSort");
    let message = format!("parameter `sort` must be one of {sorts} (got \"size\")");
    assert_readable(status, &body, "invalid_parameter", &message);

    for (query, got) in [
        ("limit=ten", "ten"),
        ("limit=5000", "5000"),
        ("limit=-1", "-1"),
    ] {
        let (status, body) = answer(get(&format!("/api/v1/events?{query}"))).await;
        let message =
            format!("parameter `limit` must be an integer from 1 to 1000 (got \"{got}\")");
        assert_readable(status, &body, "invalid_parameter", &message);
    }
    let (status, body) = answer(get("/api/v1/changes?since=yesterday")).await;
    let message = "parameter `since` must be an integer (got \"yesterday\")";
    assert_readable(status, &body, "invalid_parameter", message);
    let (status, body) = answer(get("/api/v1/events?since=2024-13-01")).await;
    let message = "parameter `since` must be an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z \
                   (got \"2024-13-01\")";
    assert_readable(status, &body, "invalid_parameter", message);

    let id = uuid::Uuid::new_v4();
    let reconcile = http.post(server.url(&format!(
        "/api/v1/resources/{id}/reconcile?withSource=maybe"
    )));
    let (status, body) = answer(reconcile).await;
    let message = "parameter `withSource` must be true or false (got \"maybe\")";
    assert_readable(status, &body, "invalid_parameter", message);

    let clusters = server.url("/api/v1/clusters");
    let (status, body) = answer(http.post(&clusters).json(&json!({"kubeconfig": "x"}))).await;
    assert_readable(
        status,
        &body,
        "invalid_body",
        "field `name` is required: a string",
    );
    let (status, body) = answer(
        http.post(&clusters)
            .json(&json!({"name": ["a"], "kubeconfig": "x"})),
    )
    .await;
    assert_readable(
        status,
        &body,
        "invalid_body",
        "field `name` must be a string (got [\"a\"])",
    );
    let (status, body) = answer(http.post(&clusters).json(&json!(["a"]))).await;
    let message = "the request body must be a JSON object (CreateCluster)";
    assert_readable(status, &body, "invalid_body", message);

    let tokens = server.url("/api/v1/tokens");
    let (status, body) = answer(
        http.post(&tokens)
            .json(&json!({"name": "ci", "role": "boss"})),
    )
    .await;
    let roles = enum_values(&spec, "RoleName");
    let message = format!("field `role` must be one of {roles} (got \"boss\")");
    assert_readable(status, &body, "invalid_body", &message);
    let long = json!({"name": "n".repeat(101), "role": "viewer"});
    let (status, body) = answer(http.post(&tokens).json(&long)).await;
    let message = format!(
        "field `name` must be a string of 1 to 100 characters (got \"{}\"…)",
        "n".repeat(100)
    );
    assert_readable(status, &body, "invalid_body", &message);
}
