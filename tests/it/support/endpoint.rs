//! Talking to a server under test, wherever it runs (in this process or as a child process):
//! its address, its bootstrap admin token, authenticated clients, tokens and kubeconfigs.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

/// Where a server listens and its admin token; both kinds of test server dereference to it,
/// so helpers take `&Endpoint`.
pub struct Endpoint {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    token: String,
}

impl Endpoint {
    /// A server at `addr` whose bootstrap admin token is `token` (empty: none known).
    pub fn new(addr: SocketAddr, token: String) -> Endpoint {
        Endpoint {
            base: format!("http://{addr}"),
            token,
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.base
            .trim_start_matches("http://")
            .parse()
            .expect("server address")
    }

    /// The bootstrap admin token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The admin's `Authorization` header, for clients built by the test.
    pub fn auth_headers(&self) -> reqwest::header::HeaderMap {
        bearer_headers(&self.token)
    }

    /// An HTTP client authenticated as the bootstrap admin.
    pub fn http(&self) -> reqwest::Client {
        client_with(&self.token)
    }

    /// Wait until `/readyz` answers 200 (migrations applied, bootstrap token installed).
    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = client.get(self.url("/readyz")).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} not ready in 20 s",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The bootstrap admin token of servers on `database_url`: derived from the database name, so
/// replicas of one test share it, and random across tests.
pub fn admin_token_for(database_url: &str) -> String {
    use sha2::Digest;
    let name = database_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    let digest = sha2::Sha256::digest(format!("fluxo-test-admin:{name}").as_bytes());
    format!("fluxo_test{}", hex::encode(&digest[..20]))
}

/// `Authorization: Bearer <token>` as a header map.
pub fn bearer_headers(token: &str) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    headers
}

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn client_with(token: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .default_headers(bearer_headers(token))
        .build()
        .expect("client")
}

/// Create an API token as the admin: `POST /api/v1/tokens` with `name`, `role` and `scope`
/// (`Value::Null`: unscoped); returns its secret and id.
pub async fn create_token(
    server: &Endpoint,
    name: &str,
    role: &str,
    scope: Value,
) -> (String, Uuid) {
    let mut body = json!({"name": name, "role": role});
    if !scope.is_null() {
        body["scope"] = scope;
    }
    let r = server
        .http()
        .post(server.url("/api/v1/tokens"))
        .json(&body)
        .send()
        .await
        .expect("POST /api/v1/tokens");
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let v: Value = r.json().await.expect("token JSON");
    let secret = v["token"].as_str().expect("token secret").to_string();
    let id = v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("token id");
    (secret, id)
}

/// A response's status and JSON body (the panic shows a body that is not JSON).
pub async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, value)
}

/// A kubeconfig with a bearer token for a made-up server (the registry does not connect).
pub fn token_kubeconfig(server: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: main\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\ncontexts:\n- name: main\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: {token}\n"
    )
}
