//! The one construction of `kube::Client`s for registered clusters. Every connection to a
//! cluster goes through the outbound address policy here: kube's own `Client::try_from` resolves
//! names with no hook, so its stack is rebuilt (the same layers, in the same order, as kube 5's
//! `ClientBuilder::try_from`, minus its debug-level tracing spans) around a TCP connector that
//! checks every resolved address and every IP-literal host before connecting.
//!
//! One difference from kube's stack: HTTP/2 is offered (ALPN `h2`, then `http/1.1`), as
//! client-go does. Every Kubernetes API server speaks it, and then all of a cluster's watches
//! and lists share one connection instead of one TCP+TLS connection each (issue 20: ~30 of them
//! per cluster). A server that only speaks HTTP/1.1 still gets a connection per request.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::retry::RetryPolicy;
use kube::client::{Body, ConfigExt};
use rustls::pki_types::ServerName;
use tower::retry::RetryLayer;
use tower::{BoxError, ServiceBuilder};

use crate::egress::{self, Policy};

/// A client for `config` whose connections obey `policy`.
///
/// Refuses a proxy (the kubeconfig policy already does; a proxy would connect for us, out of
/// the policy's sight) and a server URL carrying credentials (registration refuses those, but
/// rows written before it did may still hold one).
pub fn build(config: kube::Config, policy: Arc<Policy>) -> Result<kube::Client, String> {
    if config.proxy_url.is_some() {
        return Err("proxies are not supported".into());
    }
    if config
        .cluster_url
        .authority()
        .is_some_and(|a| a.as_str().contains('@'))
    {
        return Err(
            "the server URL carries credentials (user:password@): register it again without them"
                .into(),
        );
    }
    let tcp = egress::http_connector(policy);
    let https = https_connector(&config, tcp)?;
    let mut connector = TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http: HttpClient<_, Body> = HttpClient::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        // client-go's transport: a dead connection is found by pings within 45 s (it would
        // otherwise take every watch of the cluster with it silently until the read timeout).
        .http2_keep_alive_interval(H2_PING_INTERVAL)
        .http2_keep_alive_timeout(H2_PING_TIMEOUT)
        // Flow control as in Go's HTTP/2 transport: a large connection window, so that one
        // watch whose events are not being read (its consumer busy) cannot stall the others
        // sharing the connection; the stream window bounds what one watch may buffer.
        .http2_initial_connection_window_size(H2_CONNECTION_WINDOW)
        .http2_initial_stream_window_size(H2_STREAM_WINDOW)
        .build(connector);
    let retry = config
        .default_retry
        .then(|| RetryLayer::new(RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer().map_err(|e| e.to_string())?)
        .layer(config.extra_headers_layer().map_err(|e| e.to_string())?)
        .map_err(BoxError::from)
        .service(http);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// How often an idle HTTP/2 connection is pinged, and how long a ping may go unanswered
/// before the connection (and every watch on it) is closed and retried.
const H2_PING_INTERVAL: Duration = Duration::from_secs(30);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(15);
/// Go's HTTP/2 transport defaults (`transportDefaultConnFlow`, `transportDefaultStreamFlow`).
const H2_CONNECTION_WINDOW: u32 = 1 << 30;
const H2_STREAM_WINDOW: u32 = 4 << 20;

/// TLS (or plain HTTP for `http://` URLs) over `tcp`, offering HTTP/2 and HTTP/1.1: kube's
/// `rustls_https_connector_with_connector` with both versions enabled.
fn https_connector<H>(config: &kube::Config, tcp: H) -> Result<HttpsConnector<H>, String> {
    let tls = config.rustls_client_config().map_err(|e| e.to_string())?;
    let mut builder = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = ServerName::try_from(name.clone())
            .map_err(|e| format!("tls-server-name {name:?}: {e}"))?;
        builder = builder.with_server_name_resolver(FixedServerNameResolver::new(name));
    }
    Ok(builder.enable_all_versions().wrap_connector(tcp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> kube::Config {
        kube::Config::new(url.parse().unwrap())
    }

    #[tokio::test]
    async fn stored_urls_with_credentials_and_proxies_get_no_client() {
        let policy = Arc::new(Policy::default());
        let err = build(config("https://admin:pw@10.0.0.1:6443"), policy.clone())
            .err()
            .unwrap();
        assert!(
            err.contains("carries credentials") && !err.contains("pw"),
            "{err}"
        );
        let mut proxied = config("https://10.0.0.1:6443");
        proxied.proxy_url = Some("http://proxy:3128".parse().unwrap());
        assert_eq!(
            build(proxied, policy.clone()).err().as_deref(),
            Some("proxies are not supported")
        );
        assert!(build(config("https://10.0.0.1:6443"), policy).is_ok());
    }
}
