//! The one place where errors become HTTP responses. Every error body is
//! `{"code": "...", "message": "..."}`; the caller's mistakes are 4xx, never 500.

use poem::Response;
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use crate::clusters;
use crate::store;

/// The body of every error response.
#[derive(Object, Debug, Clone)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `kubeconfig_refused`.
    pub code: String,
    /// What went wrong and, where it helps, what to do about it.
    pub message: String,
    /// A 410 `history_pruned` only: time of the oldest retained change, which the request
    /// reached past. Absent on every other error. (One body type for every error status, so
    /// that generated clients such as progenitor's see one error type per operation.)
    #[oai(skip_serializing_if_is_none)]
    pub oldest: Option<chrono::DateTime<chrono::Utc>>,
}

/// An API error; handlers return it with `?`.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The request is malformed or refused by policy.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No credential, or one that is unknown, expired or revoked.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The caller's role or cluster scope does not allow this, or a cookie-authenticated
    /// request came from another origin.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// The object does not exist.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The object conflicts with an existing one.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// What was asked for existed but is no longer kept (pruned by retention).
    #[oai(status = 410)]
    Gone(Json<ErrorBody>),
    /// The request body is larger than the limit.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// Too many attempts (logins); retry later.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>),
    /// A managed cluster refused or failed the request made on the caller's behalf.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// The server could not do it now (database or cluster unavailable); retry later.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
    /// A bug or an unexpected state on our side; details are in the server log.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
}

fn body(code: &str, message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody {
        code: code.to_string(),
        message: message.into(),
        oldest: None,
    })
}

impl ApiError {
    /// 400 with a code and message.
    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(body(code, message))
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::NotFound(body("not_found", message))
    }

    /// 409 with a code and message.
    pub fn conflict(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::Conflict(body(code, message))
    }

    /// 410 with a code and message.
    pub fn gone(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::Gone(body(code, message))
    }

    /// 410 `history_pruned`: `at` is before `oldest`, the oldest retained change (`None`:
    /// retention emptied the log).
    pub fn history_pruned(
        at: chrono::DateTime<chrono::Utc>,
        oldest: Option<chrono::DateTime<chrono::Utc>>,
    ) -> ApiError {
        let since = oldest.map_or("no change is retained".to_string(), |o| {
            format!("the oldest retained change is from {}", o.to_rfc3339())
        });
        ApiError::Gone(Json(ErrorBody {
            code: "history_pruned".into(),
            message: format!(
                "the change log no longer reaches back to {}: retention removed it; {since}",
                at.to_rfc3339()
            ),
            oldest,
        }))
    }

    /// 401 with a message.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::Unauthorized(body("unauthorized", message))
    }

    /// 403 with a code and message.
    pub fn forbidden(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::Forbidden(body(code, message))
    }

    /// 503 with a code and message.
    pub fn unavailable(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::Unavailable(body(code, message))
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> ApiError {
        match e {
            store::Error::Conflict(what) => {
                ApiError::Conflict(body("conflict", format!("{what} already exists")))
            }
            store::Error::Missing(message) => ApiError::bad_request("invalid", message),
            store::Error::InUse(message) => ApiError::conflict("in_use", message),
            store::Error::Query(e) if e.code().is_some_and(|c| c.code().starts_with("22")) => {
                // Class 22, data exception: the caller's text cannot be stored or compared
                // (a NUL byte, an out-of-range number).
                ApiError::bad_request(
                    "invalid",
                    format!(
                        "unusable input: {}",
                        e.as_db_error().map_or("", |d| d.message())
                    ),
                )
            }
            e if e.is_query_timeout() => {
                tracing::warn!(error = %e, "API query cancelled by the statement timeout");
                ApiError::unavailable(
                    "query_timeout",
                    "the query took too long and was cancelled; narrow the filters (fewer \
                     label values, a cluster, kind or namespace) and retry",
                )
            }
            e if e.is_pool_busy() => {
                tracing::warn!(error = %e, "no database connection came free in time");
                ApiError::unavailable(
                    "database_busy",
                    "too many queries are running; retry shortly",
                )
            }
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::Unavailable(body(
                    "database_unavailable",
                    "the database is unavailable; retry shortly",
                ))
            }
            e => {
                tracing::error!(error = %e, "database error");
                ApiError::Internal(body("internal", "internal error; see the server log"))
            }
        }
    }
}

impl From<crate::actions::ActionError> for ApiError {
    fn from(e: crate::actions::ActionError) -> ApiError {
        use crate::actions::ActionError as A;
        use crate::flux::Error as F;
        let message = e.to_string();
        match e {
            A::NotApplicable(
                F::NotAllowed { .. } | F::NotFluxKind { .. } | F::NoSource | F::Static,
            ) => ApiError::bad_request("action_not_supported", message),
            A::NotApplicable(_) => ApiError::conflict("action_not_applicable", message),
            A::NotFound(_) => ApiError::NotFound(body("not_found_in_cluster", message)),
            A::Refused(_) => ApiError::BadGateway(body("cluster_refused", message)),
            A::Unreachable(..) => ApiError::unavailable("cluster_unreachable", message),
            A::Registry(e) => e.into(),
            A::UnknownResource(_) => ApiError::not_found(message),
            A::Store(e) => e.into(),
        }
    }
}

impl From<crate::auth::Error> for ApiError {
    fn from(e: crate::auth::Error) -> ApiError {
        use crate::auth::Error as A;
        let message = e.to_string();
        match e {
            A::Unauthenticated(_) | A::Expired | A::Revoked => ApiError::unauthorized(message),
            A::RateLimited(_) => ApiError::TooManyRequests(body("too_many_requests", message)),
            A::Invalid(_) => ApiError::bad_request("invalid", message),
            A::NotFound(_) => ApiError::not_found(message),
            A::Oidc(e) => ApiError::bad_request("oidc_failed", e.to_string()),
            A::Store(e) => e.into(),
        }
    }
}

impl From<clusters::Error> for ApiError {
    fn from(e: clusters::Error) -> ApiError {
        match e {
            clusters::Error::Invalid(message) => ApiError::bad_request("invalid", message),
            clusters::Error::Kubeconfig(e) => {
                ApiError::bad_request("kubeconfig_refused", e.to_string())
            }
            clusters::Error::Egress { .. } => {
                ApiError::bad_request("address_refused", e.to_string())
            }
            clusters::Error::NotFound(_) => ApiError::not_found(e.to_string()),
            clusters::Error::Store(e) => e.into(),
            e @ (clusters::Error::Crypto(_) | clusters::Error::Client(..)) => {
                tracing::error!(error = %e, "cluster credentials");
                ApiError::Internal(body("internal", e.to_string()))
            }
        }
    }
}

impl From<crate::notify::Error> for ApiError {
    fn from(e: crate::notify::Error) -> ApiError {
        use crate::notify::Error as N;
        match e {
            N::Invalid(message) => ApiError::bad_request("invalid", message),
            N::Egress(_) => ApiError::bad_request("address_refused", e.to_string()),
            N::NotFound(_) => ApiError::not_found(e.to_string()),
            N::Store(e) => e.into(),
            N::Crypto(_) => {
                tracing::error!(error = %e, "sink credentials");
                ApiError::Internal(body("internal", e.to_string()))
            }
        }
    }
}

/// The code used for framework-made errors of a given status.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::LENGTH_REQUIRED => "length_required",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    }
}

/// Turn any error that escaped a handler (routing, parsing, limits) into the JSON error shape.
/// Errors that already carry a JSON body (our [`ApiError`]) pass through unchanged.
pub async fn to_json(err: poem::Error) -> Response {
    // Parameters and bodies the framework could not parse: named, with what they must be.
    if let Some((code, message)) = super::explain::explain(&err) {
        return json_error(StatusCode::BAD_REQUEST, code, &message);
    }
    let message = err.to_string();
    let response = err.into_response();
    if response
        .content_type()
        .is_some_and(|t| t.starts_with("application/json"))
    {
        return response;
    }
    let status = response.status();
    if status.is_server_error() {
        tracing::error!(%status, error = %message, "request failed");
    }
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        message
    };
    json_error(status, code_for(status), &message)
}

pub use super::explain::json_error;
