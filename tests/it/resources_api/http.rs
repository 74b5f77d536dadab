//! The server under test, a store on its database, and request helpers.

use std::collections::BTreeSet;

use flux_orchestrator::store::Store;
use serde_json::Value;
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::register_unreachable;

/// A fresh database, the real server on it, an HTTP client and a store for seeding.
pub struct Env {
    /// The server (kept alive).
    pub server: TestServer,
    /// The client.
    pub http: reqwest::Client,
    /// Writes through `write_batch`.
    pub store: Store,
    /// The database (dropped last).
    pub db: TestDb,
}

/// Start the server on a fresh database (it migrates before it is ready).
pub async fn start() -> Env {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let store = db.store();
    let http = server.http();
    Env {
        server,
        http,
        store,
        db,
    }
}

impl Env {
    /// Register a cluster whose apiserver refuses connections, so the ingest never lists it
    /// (and never sweeps what the test seeds); returns its id.
    pub async fn cluster(&self, name: &str) -> Uuid {
        register_unreachable(&self.server, name).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let r = request.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        let value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, value)
    }

    /// GET `path` (with its query); returns status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(self.server.url(path))).await
    }

    /// GET `path`, which must answer 200.
    pub async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// Every page of `/api/v1/resources?{query}` with page size `limit`, in order.
    pub async fn walk(&self, query: &str, limit: usize) -> Vec<Value> {
        self.walk_path(&format!("/api/v1/resources?{query}"), limit)
            .await
    }

    /// Every page of the list at `path` (which has a query string) with page size `limit`.
    pub async fn walk_path(&self, path: &str, limit: usize) -> Vec<Value> {
        let (mut items, mut token) = (Vec::new(), None::<String>);
        loop {
            let mut page_path = format!("{path}&limit={limit}");
            if let Some(t) = &token {
                page_path.push_str(&format!("&continue={t}"));
            }
            let page = self.ok(&page_path).await;
            let got = page["items"].as_array().expect("items");
            assert!(got.len() <= limit, "{page_path}");
            items.extend(got.iter().cloned());
            match page["continue"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return items,
            }
        }
    }

    /// The ids `/api/v1/resources?{query}` returns (one page of up to 1,000).
    pub async fn ids(&self, query: &str) -> BTreeSet<Uuid> {
        let page = self
            .ok(&format!("/api/v1/resources?limit=1000&{query}"))
            .await;
        assert!(page["continue"].is_null(), "{query}: more than one page");
        let items = page["items"].as_array().expect("items");
        assert_eq!(
            page["total"].as_u64(),
            Some(items.len() as u64),
            "{query}: total"
        );
        items.iter().map(id_of).collect()
    }
}

/// The `id` of an item.
pub fn id_of(item: &Value) -> Uuid {
    item["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id")
}

/// Assert a 400 whose message names the parameter.
pub fn assert_bad_param(status: u16, body: &Value, param: &str) {
    assert_eq!(status, 400, "{param}: {body}");
    assert_eq!(body["code"], "invalid_parameter", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("`{param}`")),
        "{param}: {message}"
    );
}
