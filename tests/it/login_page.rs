//! `/login`, the address the demo printed and people type: browsers land on the UI's sign-in
//! page (one sign-in page, not a bare second form), and a form POST still signs in without
//! JavaScript.

use reqwest::redirect::Policy;

use crate::support::app::TestServer;
use crate::support::db::TestDb;

async fn started() -> (TestDb, TestServer) {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    (db, server)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn browsers_asking_for_login_are_sent_to_the_ui_sign_in_page() {
    let (_db, server) = started().await;
    let http = no_redirects();
    for (path, expected) in [
        ("/login", "/signin"),
        (
            "/login?next=%2Fresources%3Fhealth%3Dfailed",
            "/signin?next=%2Fresources%3Fhealth%3Dfailed",
        ),
    ] {
        let r = http
            .get(server.url(path))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("GET /login");
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(r.headers()["location"], expected, "{path}");
        assert!(!r.text().await.expect("body").contains("<form"), "{path}");
    }
}

#[tokio::test]
async fn a_refused_form_login_links_to_the_sign_in_page_instead_of_offering_a_second_form() {
    let (_db, server) = started().await;
    let r = no_redirects()
        .post(server.url("/login"))
        .header("origin", &server.base)
        .form(&[("token", "fluxo_wrong")])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(r.status(), 401);
    let body = r.text().await.expect("body");
    assert!(body.contains("unknown, expired or revoked"), "{body}");
    assert!(body.contains("href=\"/signin\""), "{body}");
    assert!(!body.contains("<form"), "{body}");
}
