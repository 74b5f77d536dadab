//! The one construction of `kube::Client`s for registered clusters. Every connection to a
//! cluster goes through the outbound address policy here: kube's own `Client::try_from` resolves
//! names with no hook, so its stack is rebuilt (the same layers, in the same order, as kube 5's
//! `ClientBuilder::try_from`, minus its debug-level tracing spans) around a TCP connector that
//! checks every resolved address and every IP-literal host before connecting.

use std::sync::Arc;

use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use kube::client::retry::RetryPolicy;
use kube::client::{Body, ConfigExt};
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
    let https = config
        .rustls_https_connector_with_connector(tcp)
        .map_err(|e| e.to_string())?;
    let mut connector = TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http: HttpClient<_, Body> = HttpClient::builder(TokioExecutor::new()).build(connector);
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
