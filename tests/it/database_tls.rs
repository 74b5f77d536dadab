//! TLS to PostgreSQL: a private server started by the test with `ssl=on`, a certificate the test
//! issues from its own CA, password (SCRAM) logins over TLS only; and the plain server of
//! DATABASE_URL for `sslmode=require` against a server without TLS.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::process::run_bin;
use crate::support::raw::free_port;

const PASSWORD: &str = "tls-test-secret";
/// The only name in the server's certificate; tests reach it with `hostaddr=127.0.0.1`.
const DB_HOST: &str = "db.fluxo.internal";

/// A PostgreSQL server with TLS on, stopped and deleted on drop.
struct TlsPg {
    dir: tempfile::TempDir,
    port: u16,
    /// The CA that signed the server's certificate.
    ca: PathBuf,
    /// A CA that signed nothing the server has.
    wrong_ca: PathBuf,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg.sh")
}

fn ca(dir: &Path, name: &str) -> (PathBuf, CertifiedIssuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key"))
        .expect("self-signed CA");
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, issuer.pem()).expect("write CA");
    (path, issuer)
}

/// Only TLS connections from 127.0.0.1 with a password; the socket (for the test's own set-up
/// and checks) trusts.
const HBA: &str = "local all all trust\n\
                   hostssl all all 127.0.0.1/32 scram-sha-256\n\
                   host all all 127.0.0.1/32 reject\n";

impl TlsPg {
    async fn start() -> TlsPg {
        let dir = tempfile::tempdir().expect("tempdir");
        // The server runs as `postgres` when the tests run as root: let it reach its data dir.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let (ca_path, issuer) = ca(dir.path(), "fluxo-test-ca");
        let (wrong_ca, _) = ca(dir.path(), "someone-else-ca");
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec![DB_HOST.to_string()])
            .expect("params")
            .signed_by(&key, &issuer)
            .expect("sign");
        let files = [
            ("server.crt", cert.pem()),
            ("server.key", key.serialize_pem()),
            ("pg_hba.conf", HBA.to_string()),
        ];
        for (name, text) in &files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let port = free_port();
        let out = tokio::process::Command::new(script())
            .arg("start")
            .arg(dir.path().join("data"))
            .arg(port.to_string())
            .arg("fast")
            .env("PG_SSL_CERT", dir.path().join("server.crt"))
            .env("PG_SSL_KEY", dir.path().join("server.key"))
            .env("PG_HBA", dir.path().join("pg_hba.conf"))
            .output()
            .await
            .expect("run pg.sh");
        assert!(
            out.status.success(),
            "pg.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = TlsPg {
            dir,
            port,
            ca: ca_path,
            wrong_ca,
        };
        pg.admin()
            .await
            .batch_execute(&format!("ALTER ROLE postgres PASSWORD '{PASSWORD}'"))
            .await
            .expect("set password");
        pg
    }

    /// A superuser session over the Unix socket (no TLS, trusted).
    async fn admin(&self) -> tokio_postgres::Client {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(self.dir.path().join("data"))
            .port(self.port)
            .user("postgres")
            .dbname("postgres");
        let (client, conn) = config
            .connect(tokio_postgres::NoTls)
            .await
            .expect("socket connection");
        tokio::spawn(conn);
        client
    }

    /// `postgres://…@host:port/postgres?…`, reaching `host` at 127.0.0.1.
    fn url(&self, host: &str, query: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@{host}:{}/postgres?hostaddr=127.0.0.1&{query}",
            self.port
        )
    }

    /// `(TLS, all)` connections of the server under test.
    async fn server_connections(&self) -> (i64, i64) {
        let row = self
            .admin()
            .await
            .query_one(
                "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_activity a \
                 JOIN pg_stat_ssl s USING (pid) WHERE a.application_name LIKE 'flux-orchestrator/%'",
                &[],
            )
            .await
            .expect("pg_stat_ssl");
        (row.get(0), row.get(1))
    }
}

impl Drop for TlsPg {
    fn drop(&mut self) {
        let _ = std::process::Command::new(script())
            .arg("stop")
            .arg(self.dir.path().join("data"))
            .status();
    }
}

async fn migrate(url: &str, ca: Option<&Path>) -> (bool, String) {
    let ca = ca.map(|p| p.to_str().expect("utf-8 path").to_string());
    let env: Vec<(&str, &str)> = ca
        .as_deref()
        .map(|c| vec![("FLUXO_DB_CA_FILE", c)])
        .unwrap_or_default();
    run_bin(&["migrate", "--database-url", url], &env).await
}

#[tokio::test]
async fn verify_full_with_the_right_ca_starts_migrates_and_serves_every_connection_over_tls() {
    let pg = TlsPg::start().await;
    // channel_binding=require: the login must be SCRAM-SHA-256-PLUS, bound to the certificate.
    let url = pg.url(DB_HOST, "sslmode=verify-full&channel_binding=require");
    let ca = pg.ca.to_str().unwrap().to_string();
    let server = TestServer::start_with(&url, &["--db-ca-file", &ca]).await;
    server.wait_ready().await;
    server
        .wait_for_log(
            "live listener is following the change log",
            Duration::from_secs(20),
        )
        .await;
    assert!(
        server.logs().contains("sslmode=VerifyFull"),
        "{}",
        server.logs()
    );

    let r = server
        .http()
        .get(server.url("/api/v1/clusters"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let (tls, all) = pg.server_connections().await;
    assert!(
        all >= 2,
        "pool and listener connections expected, saw {all}"
    );
    assert_eq!(tls, all, "every connection of the server uses TLS");
}

#[tokio::test]
async fn a_wrong_ca_or_a_wrong_host_name_is_refused_and_require_only_encrypts() {
    let pg = TlsPg::start().await;
    let (ok, out) = migrate(&pg.url(DB_HOST, "sslmode=verify-full"), Some(&pg.wrong_ca)).await;
    assert!(!ok, "a certificate from another CA was accepted: {out}");
    assert!(
        out.contains("certificate was refused") && out.contains("UnknownIssuer"),
        "{out}"
    );

    // The certificate names DB_HOST, not 127.0.0.1: only verify-full looks at the name.
    let by_ip = |mode: &str| pg.url("127.0.0.1", &format!("sslmode={mode}"));
    let (ok, out) = migrate(&by_ip("verify-full"), Some(&pg.ca)).await;
    assert!(!ok, "a certificate for another host was accepted: {out}");
    assert!(out.contains("not valid for name \"127.0.0.1\""), "{out}");
    let (ok, out) = migrate(&by_ip("verify-ca"), Some(&pg.ca)).await;
    assert!(ok, "verify-ca checks the chain only: {out}");

    // require encrypts (the server refuses anything else) without checking the certificate.
    let (ok, out) = migrate(&by_ip("require"), None).await;
    assert!(ok, "{out}");
    // A server that refuses the login still answers over TLS with the right CA: the wrong-CA
    // failure above came from the certificate, not from the password.
    let wrong_password = by_ip("verify-ca").replace(PASSWORD, "nope");
    let (ok, out) = migrate(&wrong_password, Some(&pg.ca)).await;
    assert!(
        !ok && out.contains("password authentication failed"),
        "{out}"
    );
}

#[tokio::test]
async fn a_server_that_keeps_the_wrong_ca_reports_why_it_is_not_ready() {
    let pg = TlsPg::start().await;
    let url = pg.url(DB_HOST, "sslmode=verify-full");
    let wrong = pg.wrong_ca.to_str().unwrap().to_string();
    let server = TestServer::start_with(&url, &["--db-ca-file", &wrong]).await;
    let line = server
        .wait_for_log("certificate was refused", Duration::from_secs(20))
        .await;
    assert!(line.contains("UnknownIssuer"), "{line}");
    let r = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(r.status(), 503);
}

#[tokio::test]
async fn sslmode_require_against_a_server_without_tls_is_refused() {
    let db = TestDb::create().await;
    let (ok, out) = migrate(&format!("{}?sslmode=require", db.url()), None).await;
    assert!(!ok, "connected without TLS: {out}");
    assert!(out.contains("server does not support TLS"), "{out}");
    let (ok, out) = migrate(&format!("{}?sslmode=prefer", db.url()), None).await;
    assert!(ok, "prefer falls back to a plain connection: {out}");
}

#[tokio::test]
async fn unusable_tls_settings_stop_the_server_at_start_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("ca.pem");
    let cases = [
        (
            "sslmode=verify",
            None,
            "is not one of disable, allow, prefer",
        ),
        (
            "sslmode=verify-full",
            Some(&missing),
            "cannot read the database CA file",
        ),
    ];
    for (query, ca, needle) in cases {
        let url = format!("postgres://u@127.0.0.1:1/x?{query}");
        let key = dir.path().join("key");
        let mut env = vec![("FLUXO_DEV_SECRET_KEY_FILE", key.to_str().unwrap())];
        if let Some(ca) = ca {
            env.push(("FLUXO_DB_CA_FILE", ca.to_str().unwrap()));
        }
        let args = ["serve", "--listen", "127.0.0.1:0", "--database-url", &url];
        let serve = run_bin(&args, &env);
        let (ok, out) = tokio::time::timeout(Duration::from_secs(20), serve)
            .await
            .expect("serve exits");
        assert!(!ok && out.contains(needle), "{query}: {out}");
    }
}
