//! Talking to the issuer: discovery (cached), the JWKS (cached; refetched when a token names an
//! unknown key — at most once a second, and once a minute per unknown key — so key rotation
//! works without a restart), and the code
//! exchange. HTTPS uses rustls with `ring` (never a second crypto provider) and the system's roots.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::jwt::Jwk;
use super::{Error, OidcSettings};

/// Least time between two JWKS fetches.
const MIN_GAP: Duration = Duration::from_secs(1);
/// Least time between two fetches for the same unknown key id.
const RETRY_KID_EVERY: Duration = Duration::from_secs(60);
/// Unknown key ids remembered at most.
const MAX_TRIED: usize = 64;
/// Largest discovery, JWKS or token response read.
const MAX_BODY: usize = 512 * 1024;

/// The parts of the discovery document we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// Must equal the configured issuer.
    pub issuer: String,
    /// Where the browser is sent to log in.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
    /// The signing keys.
    pub jwks_uri: String,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Default)]
struct Keys {
    keys: Vec<Jwk>,
    fetched: Option<Instant>,
    /// Key ids that were still unknown after a fetch, and when.
    tried: Vec<(Option<String>, Instant)>,
}

/// The OIDC client of one issuer.
pub struct Client {
    settings: OidcSettings,
    http: Http,
    /// Filled at the first login (the issuer may be down at start).
    discovery: Mutex<Option<Discovery>>,
    /// Written by `key`, read by every callback.
    keys: Mutex<Keys>,
}

type Http = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

fn provider_ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn http_client() -> Http {
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(5)));
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let connector = match builder.with_provider_and_native_roots(provider_ring()) {
        Ok(b) => b.https_or_http().enable_http1().wrap_connector(http),
        Err(e) => {
            // No system roots (a bare container): http:// issuers still work, https:// fail.
            tracing::warn!(error = %e, "OIDC: no system CA certificates found");
            let config = rustls::ClientConfig::builder_with_provider(provider_ring())
                .with_safe_default_protocol_versions()
                // ring supports the default protocol versions: this cannot fail.
                .expect("ring supports TLS 1.2 and 1.3")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http()
                .enable_http1()
                .wrap_connector(http)
        }
    };
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector)
}

/// Send `req`; the status and at most [`MAX_BODY`] bytes of body, within 10 s.
async fn send(
    http: &Http,
    req: http::Request<Full<Bytes>>,
) -> Result<(http::StatusCode, Bytes), Error> {
    let unreachable = |e: &dyn std::fmt::Display| Error::Unreachable(e.to_string());
    let exchange = async {
        let resp = http.request(req).await.map_err(|e| unreachable(&e))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| unreachable(&e))?;
        Ok((status, body.to_bytes()))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| Error::Unreachable("no answer within 10 s".into()))?
}

fn parse<T: serde::de::DeserializeOwned>(
    (status, body): (http::StatusCode, Bytes),
) -> Result<T, Error> {
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).to_string();
        return Err(Error::Exchange(format!("{status}: {text}")));
    }
    serde_json::from_slice(&body).map_err(|e| Error::Unreachable(format!("bad JSON: {e}")))
}

impl Client {
    /// A client for `settings`; nothing is fetched yet.
    pub fn new(settings: OidcSettings) -> Client {
        Client {
            settings,
            http: http_client(),
            discovery: Mutex::new(None),
            keys: Mutex::new(Keys::default()),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, Error> {
        let req = http::Request::get(url)
            .header("accept", "application/json")
            .body(Full::default())
            .map_err(|e| Error::Unreachable(e.to_string()))?;
        parse(send(&self.http, req).await?)
    }

    /// The issuer's discovery document (fetched once).
    pub async fn discovery(&self) -> Result<Discovery, Error> {
        let mut cached = self.discovery.lock().await;
        if let Some(d) = cached.as_ref() {
            return Ok(d.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let d: Discovery = self.get(&url).await?;
        if d.issuer.trim_end_matches('/') != self.settings.issuer {
            return Err(Error::Unreachable(format!(
                "discovery names issuer {:?}, not {:?}",
                d.issuer, self.settings.issuer
            )));
        }
        *cached = Some(d.clone());
        Ok(d)
    }

    /// The signing key `kid` (any signing key when the token names none), refetching the JWKS
    /// when it is unknown and the last fetch is old enough.
    pub async fn key(&self, kid: Option<&str>) -> Result<Jwk, Error> {
        let mut keys = self.keys.lock().await;
        let find = |keys: &[Jwk]| {
            let signing = keys.iter().filter(|k| k.use_.as_deref() != Some("enc"));
            let mut matching = signing.filter(|k| kid.is_none() || k.kid.as_deref() == kid);
            let first = matching.next().cloned();
            // Without a kid the choice must be unambiguous.
            first.filter(|_| kid.is_some() || matching.next().is_none())
        };
        if let Some(key) = find(&keys.keys) {
            return Ok(key);
        }
        let unknown = || Error::InvalidToken(format!("unknown signing key {kid:?}"));
        let kid_owned = kid.map(str::to_string);
        let recently_tried = keys
            .tried
            .iter()
            .any(|(k, at)| *k == kid_owned && at.elapsed() < RETRY_KID_EVERY);
        if recently_tried || keys.fetched.is_some_and(|at| at.elapsed() < MIN_GAP) {
            return Err(unknown());
        }
        let uri = self.discovery().await?.jwks_uri;
        let set: JwkSet = self.get(&uri).await?;
        tracing::info!(
            keys = set.keys.len(),
            "OIDC: fetched the issuer's signing keys"
        );
        keys.keys = set.keys;
        keys.fetched = Some(Instant::now());
        keys.tried.retain(|(_, at)| at.elapsed() < RETRY_KID_EVERY);
        match find(&keys.keys) {
            Some(key) => Ok(key),
            None => {
                if keys.tried.len() < MAX_TRIED {
                    keys.tried.push((kid_owned, Instant::now()));
                }
                Err(unknown())
            }
        }
    }

    /// Exchange an authorization code (with its PKCE verifier) for the ID token.
    pub async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect: &str,
    ) -> Result<String, Error> {
        #[derive(Deserialize)]
        struct Tokens {
            id_token: Option<String>,
        }
        let endpoint = self.discovery().await?.token_endpoint;
        let s = &self.settings;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
            ("client_id", s.client_id.as_str()),
        ];
        let secret = s
            .client_secret
            .as_ref()
            .map(secrecy::ExposeSecret::expose_secret);
        if let Some(secret) = secret {
            form.push(("client_secret", secret));
        }
        let body =
            serde_urlencoded::to_string(&form).map_err(|e| Error::Exchange(e.to_string()))?;
        let req = http::Request::post(&endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Error::Exchange(e.to_string()))?;
        let tokens: Tokens = parse(send(&self.http, req).await?)?;
        tokens
            .id_token
            .ok_or_else(|| Error::Exchange("no id_token in the answer".into()))
    }
}
