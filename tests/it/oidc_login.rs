//! OIDC login end to end against a real OpenID provider (node-oidc-provider, OpenID Certified)
//! started on 127.0.0.1: real redirects, the provider's login and consent screens, PKCE, real
//! RS256 signatures. Also: roles from the groups claim, a forged state, key rotation (a new
//! `kid` is fetched without a restart), a token signed by a key the issuer never published under
//! that `kid`, and an expired ID token (the provider's clock is two hours slow).
//!
//! Needs Node.js and the provider in `target/test-oidc` (made by `make test` from
//! `tests/oidc/package*.json`); a missing tool fails the test with the fix.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::raw::free_port;

const GROUPS: &str = r#"{"alice": ["platform"], "bob": ["sre", "devs"], "eve": ["visitors"]}"#;

/// `target/test-oidc` with the provider script copied in, once per test binary (tests start
/// providers in parallel, and one must not read the script while another rewrites it).
fn provider_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-oidc");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "{} lacks oidc-provider. Install it (make test does this):\n  mkdir -p target/test-oidc && \
             cp tests/oidc/package.json tests/oidc/package-lock.json target/test-oidc/ && \
             (cd target/test-oidc && npm ci)",
            dir.display()
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/provider.mjs");
        std::fs::copy(script, dir.join("provider.mjs")).expect("copy provider.mjs");
        dir
    })
    .clone()
}

/// The provider process; killed on drop.
struct Provider {
    _child: Child,
}

impl Provider {
    async fn start(port: u16, redirect: &str, kid: &str, clock_offset: i64) -> Provider {
        let dir = provider_dir();
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("REDIRECT_URI", redirect)
            .env("KID", kid)
            .env("GROUPS", GROUPS)
            .env("CLOCK_OFFSET_SECS", clock_offset.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stderr = child.stderr.take().unwrap();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("listening") {
                    return true;
                }
            }
            false
        });
        if !ready.await.unwrap_or(false) {
            let _ = child.start_kill();
            let mut why = String::new();
            let read = stderr.read_to_string(&mut why);
            let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
            panic!("the OIDC provider did not start on port {port}:\n{why}");
        }
        // Keep reading: node dies of EPIPE when it logs into a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        tokio::spawn(async move { tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await });
        Provider { _child: child }
    }
}

/// A server configured for the provider on `port`.
async fn server(db: &TestDb, port: u16) -> TestServer {
    let issuer = format!("http://127.0.0.1:{port}");
    let args = [
        "--oidc-issuer",
        &issuer,
        "--oidc-client-id",
        "fluxo",
        "--oidc-client-secret",
        "fluxo-secret",
        "--oidc-roles",
        "platform=admin,sre=operator",
    ];
    let server = TestServer::start_with(&db.url(), &args).await;
    server.wait_ready().await;
    server
}

/// Cookies by name (paths ignored: each side reads only its own names).
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.0.retain(|(n, _)| n != name);
            self.0.push((name.to_string(), value.to_string()));
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Start a login at `server` and go through the provider's screens as `login`; returns the
/// callback URL the provider sends the browser to, and the server's cookies.
async fn through_provider(server: &TestServer, login: &str) -> (String, Jar) {
    let (http, mut ours, mut theirs) = (http(), Jar::default(), Jar::default());
    let r = http
        .get(server.url("/auth/oidc/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    ours.take(&r);
    let mut url = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("nonce="),
        "{url}"
    );
    for _ in 0..20 {
        if url.starts_with(&server.base) {
            return (url, ours);
        }
        let r = http
            .get(&url)
            .header("cookie", theirs.header())
            .send()
            .await
            .unwrap();
        theirs.take(&r);
        let next = if r.status().is_redirection() {
            r.headers()["location"].to_str().unwrap().to_string()
        } else {
            let page = r.text().await.unwrap();
            let prompt = if page.contains("value=\"login\"") {
                "login"
            } else {
                "consent"
            };
            let form = [("prompt", prompt), ("login", login), ("password", "any")];
            let r = http
                .post(&url)
                .header("cookie", theirs.header())
                .form(&form)
                .send()
                .await
                .unwrap();
            theirs.take(&r);
            r.headers()["location"].to_str().unwrap().to_string()
        };
        url = if next.starts_with('/') {
            let origin: String = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
            format!("{origin}{next}")
        } else {
            next
        };
    }
    panic!("no callback after 20 hops: {url}");
}

/// Log in as `login`; (callback status, `GET /api/v1/session` with the new cookie if any).
async fn login(server: &TestServer, login_name: &str) -> (u16, Option<Value>) {
    let (callback, mut jar) = through_provider(server, login_name).await;
    let r = http()
        .get(&callback)
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    jar.take(&r);
    if status != 200 {
        return (status, None);
    }
    let body = r.text().await.unwrap();
    assert!(body.contains("url=/"), "{body}");
    let me = http()
        .get(server.url("/api/v1/session"))
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    (status, Some(me.json().await.unwrap()))
}

#[tokio::test]
async fn an_oidc_login_maps_groups_to_roles_and_starts_a_session() {
    let db = TestDb::create().await;
    let port = free_port();
    let server = server(&db, port).await;
    let _provider = Provider::start(port, &server.url("/auth/oidc/callback"), "k1", 0).await;
    let (status, me) = login(&server, "alice").await;
    let me = me.unwrap_or_else(|| panic!("alice: {status}\n{}", server.logs()));
    assert_eq!(
        (
            me["subject"].as_str(),
            me["role"].as_str(),
            me["method"].as_str()
        ),
        (Some("alice@example.com"), Some("admin"), Some("oidc"))
    );
    let (_, bob) = login(&server, "bob").await;
    assert_eq!(bob.unwrap()["role"], "operator");
    assert_eq!(login(&server, "eve").await.0, 403, "no group with a role");
    let audit: Value = server
        .http()
        .get(server.url("/api/v1/audit?operation=oidcCallback"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actors: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        ["anonymous", "bob@example.com", "alice@example.com"]
    );
}

#[tokio::test]
async fn a_callback_with_a_forged_state_or_without_the_login_cookie_is_refused() {
    let db = TestDb::create().await;
    let port = free_port();
    let server = server(&db, port).await;
    let _provider = Provider::start(port, &server.url("/auth/oidc/callback"), "k1", 0).await;
    let (callback, jar) = through_provider(&server, "alice").await;
    let r = http().get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400, "no login cookie");
    let state = callback
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let forged = callback.replace(state, "forged");
    let r = http()
        .get(&forged)
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "forged state");
    assert!(
        !r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("fluxo_session=fluxs_"))
    );
}

#[tokio::test]
async fn rotated_keys_are_fetched_and_a_token_signed_with_an_unpublished_key_is_refused() {
    let db = TestDb::create().await;
    let port = free_port();
    let server = server(&db, port).await;
    let redirect = server.url("/auth/oidc/callback");
    let provider = Provider::start(port, &redirect, "k1", 0).await;
    assert_eq!(login(&server, "alice").await.0, 200);
    drop(provider);
    // The server fetches the keys at most once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let provider = Provider::start(port, &redirect, "k2", 0).await;
    assert_eq!(
        login(&server, "alice").await.0,
        200,
        "rotation to k2 without a restart"
    );
    drop(provider);
    // Same kid, another key: the signature does not verify with the key we know as k2.
    let _provider = Provider::start(port, &redirect, "k2", 0).await;
    assert_eq!(login(&server, "alice").await.0, 401);
    assert!(server.logs().contains("bad signature"), "{}", server.logs());
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let db = TestDb::create().await;
    let port = free_port();
    let server = server(&db, port).await;
    let _provider = Provider::start(port, &server.url("/auth/oidc/callback"), "k1", -7200).await;
    assert_eq!(login(&server, "alice").await.0, 401);
    assert!(server.logs().contains("expired"), "{}", server.logs());
}

#[tokio::test]
async fn without_oidc_settings_the_oidc_endpoints_are_404() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    for path in ["/auth/oidc/login", "/auth/oidc/callback?code=x&state=y"] {
        assert_eq!(
            http().get(server.url(path)).send().await.unwrap().status(),
            404,
            "{path}"
        );
    }
}
