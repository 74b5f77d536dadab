//! The policy at connect time, for hyper-util clients (the kube client, later webhooks).
//!
//! hyper-util's `HttpConnector` resolves names through a pluggable resolver but connects to
//! IP-literal hosts without asking it, so two pieces are needed and [`http_connector`] joins
//! them: [`Resolver`] refuses a name when any address it resolves to is refused (every address,
//! not the first: the connector may try any of them), and [`Guarded`] checks IP-literal hosts
//! before the connector sees them. Nothing is connected, and no byte sent, to a refused address.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use tower::Service;

use super::{Policy, Refused};

/// The error type of the connect path (hyper-util's connectors box theirs too).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// A DNS resolver (the system's, through tokio) that refuses names resolving to a refused address.
#[derive(Clone, Debug)]
pub struct Resolver {
    policy: Arc<Policy>,
}

impl Resolver {
    /// A resolver applying `policy`.
    pub fn new(policy: Arc<Policy>) -> Resolver {
        Resolver { policy }
    }
}

impl Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy.clone();
        Box::pin(async move {
            // The connector sets the port afterwards.
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            for addr in &addrs {
                policy.check(addr.ip())?;
            }
            Ok(addrs.into_iter())
        })
    }
}

/// A connector that refuses IP-literal hosts the policy refuses, then delegates.
#[derive(Clone, Debug)]
pub struct Guarded<C> {
    inner: C,
    policy: Arc<Policy>,
}

impl<C> Guarded<C> {
    /// Guard `inner` with `policy`.
    pub fn new(inner: C, policy: Arc<Policy>) -> Guarded<C> {
        Guarded { inner, policy }
    }
}

impl<C> Service<Uri> for Guarded<C>
where
    C: Service<Uri>,
    C::Response: Send + 'static,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = BoxFuture<C::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        if let Some(ip) = uri.host().and_then(literal_ip)
            && let Err(refused) = self.policy.check(ip)
        {
            return Box::pin(std::future::ready(Err(refused.into())));
        }
        let connecting = self.inner.call(uri);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}

/// A TCP connector for hyper-util clients that applies `policy` to every address it would
/// connect to. `enforce_http` is off so TLS connectors can wrap it.
pub fn http_connector(policy: Arc<Policy>) -> Guarded<HttpConnector<Resolver>> {
    let mut http = HttpConnector::new_with_resolver(Resolver::new(policy.clone()));
    http.enforce_http(false);
    Guarded::new(http, policy)
}

/// Check `host` before accepting it (registration): an IP literal directly, a name by
/// resolving it. A name that does not resolve within `timeout` passes: connecting checks again.
pub async fn check_host(policy: &Policy, host: &str, timeout: Duration) -> Result<(), Refused> {
    if let Some(ip) = literal_ip(host) {
        return policy.check(ip);
    }
    let lookup = tokio::time::timeout(timeout, tokio::net::lookup_host((host, 0))).await;
    if let Ok(Ok(addrs)) = lookup {
        for addr in addrs {
            policy.check(addr.ip())?;
        }
    }
    Ok(())
}

/// The refusal somewhere in an error's chain (the HTTP client wraps it several times), if any.
pub fn refusal_in<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused);
        }
        // `io::Error::source` skips the error it wraps, so look inside.
        if let Some(refused) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<Refused>())
        {
            return Some(refused);
        }
        next = e.source();
    }
    None
}

/// `host` as an IP address when it is one (IPv6 in brackets, as URIs write it).
fn literal_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::Reason;

    fn deny_loopback() -> Arc<Policy> {
        let deny = vec!["127.0.0.0/8".to_string(), "::1".to_string()];
        Arc::new(Policy::from_settings(&[], &deny).unwrap())
    }

    #[tokio::test]
    async fn registration_checks_literals_and_resolved_names() {
        let p = Policy::default();
        let second = Duration::from_secs(1);
        let refused = check_host(&p, "169.254.169.254", second).await.unwrap_err();
        assert_eq!(refused.reason, Reason::Metadata);
        let refused = check_host(&p, "[fd00:ec2::254]", second).await.unwrap_err();
        assert_eq!(refused.reason, Reason::Metadata);
        assert!(check_host(&p, "localhost", second).await.is_ok());
        // getaddrinfo reads numeric forms a URL parser keeps as a name: still checked.
        let refused = check_host(&p, "0xa9fea9fe", second).await.unwrap_err();
        assert_eq!(refused.addr, "169.254.169.254".parse::<IpAddr>().unwrap());
        let strict = deny_loopback();
        assert!(check_host(&strict, "localhost", second).await.is_err());
        assert!(check_host(&p, "name.invalid", second).await.is_ok());
    }

    #[tokio::test]
    async fn the_connector_refuses_resolved_names_and_literals_without_connecting() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut allowed = http_connector(Arc::new(Policy::default()));
        let uri: Uri = format!("http://localhost:{port}/").parse().unwrap();
        assert!(
            allowed.call(uri).await.is_ok(),
            "loopback is allowed by default"
        );
        let _accepted = listener.accept().await.unwrap();

        for host in ["localhost", "127.0.0.1"] {
            let mut strict = http_connector(deny_loopback());
            let uri: Uri = format!("http://{host}:{port}/").parse().unwrap();
            let err = strict.call(uri).await.unwrap_err();
            let refused = refusal_in(err.as_ref()).unwrap_or_else(|| panic!("{host}: {err:?}"));
            assert!(matches!(refused.reason, Reason::Denied(_)), "{refused}");
        }
        let nothing = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(nothing.is_err(), "a refused address is never connected to");
    }
}
