//! Failures talking to a cluster, told two ways. The `summary` is what every reader of the
//! cluster's status (viewers included) and every operator's action error gets: our own words,
//! the HTTP status code and its standard reason, never text the remote end sent, because a
//! server URL pointed at something that is not an apiserver (a metadata service, an internal
//! web app) would otherwise have its answer shown to everyone. The `detail` keeps the full
//! error, for admins.

use kube::runtime::watcher;

use crate::egress;

/// A failure talking to a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// For everyone: no text from the remote end.
    pub summary: String,
    /// For admins: the whole error chain, which may quote the remote end's response.
    pub detail: String,
}

impl Failure {
    /// A failure described entirely in our own words: both forms are the same.
    pub fn local(message: impl Into<String>) -> Failure {
        let message = message.into();
        Failure {
            summary: message.clone(),
            detail: message,
        }
    }

    /// Both forms prefixed with `context` (e.g. `discovery failed`).
    pub fn context(self, context: &str) -> Failure {
        Failure {
            summary: format!("{context}: {}", self.summary),
            detail: format!("{context}: {}", self.detail),
        }
    }
}

/// Describe an error of the kube client.
pub fn of_kube(e: &kube::Error) -> Failure {
    // A refusal is ours, and the one useful part of the chain that wraps it.
    if let Some(refused) = egress::refusal_in(e) {
        return Failure::local(refused.to_string());
    }
    let summary = match e {
        kube::Error::Api(status) => answered(status.code),
        // serde_json quotes values from the body ("invalid type: string \"…\"").
        kube::Error::SerdeError(_) | kube::Error::FromUtf8(_) => {
            "the server's response is not Kubernetes API JSON".to_string()
        }
        // Discovery errors quote group and kind names the server listed.
        kube::Error::Discovery(_) => "the server's API discovery documents are not usable".into(),
        // Connection, TLS, timeout, request-building errors: local descriptions.
        other => other.to_string(),
    };
    Failure {
        summary,
        detail: chain(e),
    }
}

/// Describe an error of a kube-runtime watcher.
pub fn of_watch(e: &watcher::Error) -> Failure {
    match e {
        watcher::Error::InitialListFailed(k) => of_kube(k).context("initial list failed"),
        watcher::Error::WatchStartFailed(k) => of_kube(k).context("starting the watch failed"),
        watcher::Error::WatchFailed(k) => of_kube(k).context("the watch failed"),
        watcher::Error::WatchError(status) => Failure {
            summary: format!("the watch failed: {}", answered(status.code)),
            detail: e.to_string(),
        },
        watcher::Error::NoResourceVersion => Failure::local(e.to_string()),
    }
}

/// "the server answered 403 Forbidden": the code and the standard reason phrase of our own.
fn answered(code: u16) -> String {
    let reason = http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason());
    match reason {
        Some(reason) => format!("the server answered {code} {reason}"),
        None => format!("the server answered HTTP {code}"),
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
        assert_eq!(failure.summary, "the server answered 401 Unauthorized");
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
            "initial list failed: the server answered 403 Forbidden"
        );
        assert!(failure.detail.contains("User \\\"x\\\"") || failure.detail.contains("User \"x\""));
        let failure = of_watch(&watcher::Error::WatchError(status));
        assert_eq!(
            failure.summary,
            "the watch failed: the server answered 403 Forbidden"
        );
    }
}
