//! The API docs page (Swagger UI at /api/docs) as a browser loads it: the spec it shows is the
//! one we serve, with the security schemes that make Swagger UI offer "Authorize".

use serde_json::Value;

use crate::support::app::TestServer;
use crate::support::db::TestDb;

/// The spec a Swagger UI page hands to `SwaggerUIBundle` (`let spec = {...};`).
fn embedded_spec(page: &str) -> Value {
    let start = page.find("let spec = ").expect("the page embeds a spec") + "let spec = ".len();
    let mut values = serde_json::Deserializer::from_str(&page[start..]).into_iter::<Value>();
    values
        .next()
        .expect("a value")
        .expect("the embedded spec is JSON")
}

#[tokio::test]
async fn the_docs_page_shows_the_served_spec_with_its_security_schemes() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let http = reqwest::Client::new();
    let r = http.get(server.url("/api/docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    let page = r.text().await.unwrap();
    assert!(page.contains("SwaggerUIBundle"), "a Swagger UI page");
    let shown = embedded_spec(&page);
    let schemes = &shown["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["session"]["in"], "cookie", "{schemes}");
    let list = &shown["paths"]["/api/v1/clusters"]["get"];
    assert_eq!(
        list["security"][0]["bearer"],
        serde_json::json!([]),
        "{list}"
    );
    assert_eq!(list["x-required-role"], "viewer");
    let served: Value = http
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown, served,
        "the docs show the spec /api/v1/openapi.json serves"
    );
}
