//! Failures talking to a cluster, told two ways. The `summary` is what every reader of the
//! cluster's status (viewers included) and every operator's action error gets: one plain
//! sentence in our own words per cause, with the HTTP status code and its standard reason where
//! there is one — never text the remote end sent, because a server URL pointed at something
//! that is not an apiserver (a metadata service, an internal web app) would otherwise have its
//! answer shown to everyone. The `detail` keeps the full error chain, for admins. The `cause`
//! lets the cluster's state say *why*: credentials, permissions, or the network.

use kube::runtime::watcher;

use crate::egress;

/// Why talking to a cluster failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// 401: the credentials were refused (expired or revoked token, wrong certificate).
    Unauthorized,
    /// 403: the credentials lack a permission (RBAC).
    Forbidden,
    /// No usable answer: connection refused or reset, DNS, TLS, timeouts, the outbound
    /// address policy.
    Unreachable,
    /// The server answered with an error of its own (5xx) or something that is not the
    /// Kubernetes API.
    Server,
}

/// A failure talking to a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// For everyone: no text from the remote end.
    pub summary: String,
    /// For admins: the whole error chain, which may quote the remote end's response.
    pub detail: String,
    /// Why.
    pub cause: Cause,
}

impl Failure {
    /// A failure described entirely in our own words: both forms are the same.
    pub fn local(message: impl Into<String>) -> Failure {
        let message = message.into();
        Failure {
            summary: message.clone(),
            detail: message,
            cause: Cause::Unreachable,
        }
    }

    /// Both forms prefixed with `context` (e.g. `discovery failed`).
    pub fn context(self, context: &str) -> Failure {
        Failure {
            summary: format!("{context}: {}", self.summary),
            detail: format!("{context}: {}", self.detail),
            cause: self.cause,
        }
    }
}

/// Describe an error of the kube client.
pub fn of_kube(e: &kube::Error) -> Failure {
    // A refusal is ours, and the one useful part of the chain that wraps it.
    if let Some(refused) = egress::refusal_in(e) {
        return Failure::local(refused.to_string());
    }
    let (summary, cause) = match e {
        kube::Error::Api(status) => answered(status.code),
        // serde_json quotes values from the body ("invalid type: string \"…\"").
        kube::Error::SerdeError(_) | kube::Error::FromUtf8(_) => (
            "the server's response is not Kubernetes API JSON: is the server URL an API server?"
                .to_string(),
            Cause::Server,
        ),
        // Discovery errors quote group and kind names the server listed.
        kube::Error::Discovery(_) => (
            "the server's API discovery documents are not usable".into(),
            Cause::Server,
        ),
        // Connection, TLS, timeout, request-building errors: one sentence per cause.
        other => (transport(other), Cause::Unreachable),
    };
    Failure {
        summary,
        detail: chain(e),
        cause,
    }
}

/// Describe an error of a kube-runtime watcher.
pub fn of_watch(e: &watcher::Error) -> Failure {
    match e {
        watcher::Error::InitialListFailed(k) => of_kube(k).context("listing failed"),
        watcher::Error::WatchStartFailed(k) => of_kube(k).context("starting the watch failed"),
        watcher::Error::WatchFailed(k) => of_kube(k).context("the watch failed"),
        watcher::Error::WatchError(status) => {
            let (summary, cause) = answered(status.code);
            Failure {
                summary: format!("the watch failed: {summary}"),
                detail: e.to_string(),
                cause,
            }
        }
        watcher::Error::NoResourceVersion => Failure {
            cause: Cause::Server,
            ..Failure::local(e.to_string())
        },
    }
}

/// What an HTTP status means for us: the code and the standard reason phrase of our own, and
/// for 401/403 what to do about it.
fn answered(code: u16) -> (String, Cause) {
    let reason = http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason());
    let status = match reason {
        Some(reason) => format!("{code} {reason}"),
        None => format!("HTTP {code}"),
    };
    match code {
        401 => (
            format!(
                "the cluster refused the credentials ({status}): the token or certificate expired, \
                 was revoked or is wrong — update the cluster's kubeconfig"
            ),
            Cause::Unauthorized,
        ),
        403 => (
            format!("not permitted ({status}): the credentials lack a permission (RBAC)"),
            Cause::Forbidden,
        ),
        _ => (format!("the server answered {status}"), Cause::Server),
    }
}

/// One sentence for a failure below HTTP, found by walking the error's sources: the kind of
/// I/O error, a TLS certificate problem, a name that does not resolve, a timeout.
fn transport(e: &(dyn std::error::Error + 'static)) -> String {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return tls_sentence(tls);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(sentence) = io_sentence(io) {
                return sentence;
            }
            // An I/O error's `source()` skips the error it wraps (a TLS error, say).
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        next = err.source();
    }
    let text = chain(e).to_ascii_lowercase();
    if text.contains("dns error")
        || text.contains("lookup address")
        || text.contains("name or service not known")
    {
        return "the server's host name does not resolve (DNS)".into();
    }
    if text.contains("timed out") || text.contains("deadline") || text.contains("elapsed") {
        return "the API server did not answer in time".into();
    }
    if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        return "the TLS handshake with the API server failed".into();
    }
    "cannot reach the API server".into()
}

fn io_sentence(io: &std::io::Error) -> Option<String> {
    use std::io::ErrorKind as K;
    let sentence = match io.kind() {
        K::ConnectionRefused => {
            "connection refused: nothing listens at the server address (is the API server up?)"
        }
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            "the connection to the API server was cut"
        }
        K::TimedOut => "the API server did not answer in time",
        K::HostUnreachable | K::NetworkUnreachable => "no route to the API server's address",
        K::AddrNotAvailable => "the server address cannot be used from here",
        _ => return None,
    };
    Some(sentence.into())
}

fn tls_sentence(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            "TLS: the server's certificate is not signed by the kubeconfig's certificate authority"
                .into()
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "TLS: the server's certificate is not valid for the server's host name".into(),
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "TLS: the server's certificate has expired".into()
        }
        rustls::Error::InvalidCertificate(_) => {
            "TLS: the server's certificate is not acceptable".into()
        }
        _ => "the TLS handshake with the API server failed".into(),
    }
}

/// The error and its sources, each once ("ServiceError: client error (Connect): tcp connect
/// error: Connection refused"): kube's own `Display` stops at the first line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(source) = next {
        let text = source.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = source.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn api_error(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(
            Status::failure(message, "Failed to parse error data")
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn an_api_error_keeps_only_the_code_and_our_reason_in_the_summary() {
        let body = "AccessKeyId=AKIAEXAMPLE SecretAccessKey=wJalrXUtnFEMI";
        let failure = of_kube(&api_error(401, body));
        assert!(
            failure
                .summary
                .starts_with("the cluster refused the credentials (401 Unauthorized)"),
            "{}",
            failure.summary
        );
        assert_eq!(failure.cause, Cause::Unauthorized);
        assert!(!failure.summary.contains("AKIA"));
        assert!(failure.detail.contains(body), "{}", failure.detail);
        let failure = of_kube(&api_error(599, body));
        assert_eq!(failure.summary, "the server answered HTTP 599");
    }

    #[test]
    fn a_response_that_is_not_kubernetes_json_is_not_quoted() {
        let err = serde_json::from_str::<u32>("\"instance-secret-token\"").unwrap_err();
        assert!(err.to_string().contains("instance-secret-token"));
        let failure = of_kube(&kube::Error::SerdeError(err));
        assert!(
            !failure.summary.contains("instance-secret"),
            "{}",
            failure.summary
        );
        assert!(failure.detail.contains("instance-secret-token"));
    }

    #[test]
    fn watch_errors_from_the_server_keep_only_the_code() {
        let status = Status::failure("kustomizations is forbidden: User \"x\"", "Forbidden")
            .with_code(403)
            .boxed();
        let failure = of_watch(&watcher::Error::InitialListFailed(kube::Error::Api(
            status.clone(),
        )));
        assert_eq!(
            failure.summary,
            "listing failed: not permitted (403 Forbidden): the credentials lack a permission (RBAC)"
        );
        assert_eq!(failure.cause, Cause::Forbidden);
        assert!(failure.detail.contains("User \\\"x\\\"") || failure.detail.contains("User \"x\""));
        let failure = of_watch(&watcher::Error::WatchError(status));
        assert_eq!(
            failure.summary,
            "the watch failed: not permitted (403 Forbidden): the credentials lack a permission (RBAC)"
        );
    }

    #[test]
    fn transport_failures_get_one_plain_sentence_per_cause() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(transport(&refused).starts_with("connection refused"));
        let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(transport(&timeout), "the API server did not answer in time");
        let untrusted = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert!(
            transport(&untrusted).contains("not signed by the kubeconfig's certificate authority")
        );
        let wrapped = std::io::Error::other(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Expired,
        ));
        assert_eq!(
            transport(&wrapped),
            "TLS: the server's certificate has expired"
        );
        let dns = std::io::Error::other("dns error: failed to lookup address information");
        assert_eq!(
            transport(&dns),
            "the server's host name does not resolve (DNS)"
        );
        assert_eq!(
            transport(&std::io::Error::other("something else")),
            "cannot reach the API server"
        );
    }
}
