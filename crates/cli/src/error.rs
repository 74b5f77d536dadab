//! The CLI's one error type, and what each error means for the exit code.

use fluxo_client::types::ErrorBody;

/// Everything a client command can fail with. Shown as one line on stderr, never a backtrace.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server did not answer (connection refused, DNS, TLS, timeout): exit code 2.
    #[error("cannot reach the server at {server}: {reason}")]
    Unreachable {
        /// The URL we tried.
        server: String,
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        reason: String,
    },
    /// The API answered with its error body: shown as `code: message`.
    #[error("{code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The body's machine-readable code.
        code: String,
        /// The body's message.
        message: String,
    },
    /// The server answered something the spec does not describe.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// No server or token configured.
    #[error("{0}")]
    NotLoggedIn(String),
    /// The command line names something that does not exist or is ambiguous.
    #[error("{0}")]
    Usage(String),
    /// The local config file could not be read or written.
    #[error("{what} {path}: {source}")]
    Config {
        /// What we were doing.
        what: &'static str,
        /// The file.
        path: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A Kubernetes request of `cluster add` failed.
    #[error("{context}: {source}")]
    Kube {
        /// What we were doing, e.g. `creating ServiceAccount kube-system/flux-orchestrator`.
        context: String,
        /// The kube error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A wait ran out of time.
    #[error("timed out after {0:?}: {1}")]
    Timeout(std::time::Duration, String),
    /// A CI gate (`--fail-on`) or a finished action found failures; the details are printed.
    #[error("{0}")]
    Failed(String),
    /// The WebSocket stream failed.
    #[error("live stream: {0}")]
    Stream(String),
    /// Writing the output failed (other than a closed pipe).
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The process exit code: 2 when the server is unreachable, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Unreachable { .. } => 2,
            _ => 1,
        }
    }

    /// A failed request to `server` (transport level).
    pub fn transport(server: &str, e: &reqwest::Error) -> Error {
        if e.is_connect() || e.is_timeout() || e.is_request() {
            return Error::Unreachable {
                server: server.to_string(),
                reason: innermost(e),
            };
        }
        Error::Protocol(innermost(e))
    }

    /// Map a generated client's error.
    pub fn from_client(server: &str, e: fluxo_client::Error<ErrorBody>) -> Error {
        use fluxo_client::Error as E;
        match e {
            E::ErrorResponse(r) => {
                let status = r.status().as_u16();
                let body = r.into_inner();
                Error::Api {
                    status,
                    code: body.code,
                    message: body.message,
                }
            }
            E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
                Error::transport(server, &e)
            }
            E::UnexpectedResponse(r) => Error::Protocol(format!("HTTP {}", r.status())),
            E::InvalidResponsePayload(_, e) => Error::Protocol(e.to_string()),
            E::InvalidRequest(m) | E::Custom(m) => Error::Usage(m),
        }
    }

    /// A kube error with what we were doing.
    pub fn kube(context: impl Into<String>, source: kube::Error) -> Error {
        Error::Kube {
            context: context.into(),
            source: Box::new(source),
        }
    }
}

/// The innermost cause's text: `Connection refused (os error 111)` rather than reqwest's
/// `error sending request for url (…)`.
pub fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unreachable_server_exits_with_two() {
        let down = Error::Unreachable {
            server: "http://x".into(),
            reason: "refused".into(),
        };
        assert_eq!(down.exit_code(), 2);
        let api = Error::Api {
            status: 401,
            code: "unauthorized".into(),
            message: "bad token".into(),
        };
        assert_eq!(api.exit_code(), 1);
        assert_eq!(api.to_string(), "unauthorized: bad token");
    }
}
