//! The HTTP client `openidconnect` talks to the issuer with: hyper over rustls with `ring` (never
//! a second crypto provider, never OpenSSL) and the system's roots; every exchange within 10 s and
//! at most 512 KiB of answer. The outbound address policy (`egress`) does not apply: the issuer
//! is the operator's configuration, not a user's input.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// Largest discovery, JWKS or token response read.
const MAX_BODY: usize = 512 * 1024;
/// Longest exchange (connect, request, whole answer).
const DEADLINE: Duration = Duration::from_secs(10);

/// Why an exchange with the issuer failed (before any answer was judged).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

type Hyper = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// The issuer's HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct Http(Hyper);

fn provider_ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Http {
    /// A client with the system's roots (without any, `http://` issuers still work).
    pub fn new() -> Http {
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
        let executor = hyper_util::rt::TokioExecutor::new();
        Http(hyper_util::client::legacy::Client::builder(executor).build(connector))
    }

    /// Send `request`; the status, headers and at most [`MAX_BODY`] bytes, within [`DEADLINE`].
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let fail = |e: &dyn std::fmt::Display| HttpError(e.to_string());
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let exchange = async {
            let answer = self.0.request(request).await.map_err(|e| fail(&e))?;
            let (parts, body) = answer.into_parts();
            let body = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| fail(&e))?;
            Ok(http::Response::from_parts(parts, body.to_bytes().to_vec()))
        };
        tokio::time::timeout(DEADLINE, exchange)
            .await
            .map_err(|_| HttpError(format!("no answer within {} s", DEADLINE.as_secs())))?
    }
}

/// How `openidconnect` sends its requests. The future is boxed as `Send`: handlers run on
/// any worker thread.
impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
