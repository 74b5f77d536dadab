//! Kubernetes `v1 Status` errors: the one error type of the simulator, rendered as the JSON body
//! the real apiserver sends (and as in-stream `ERROR` watch events).

use serde_json::{Value, json};

use super::catalog::ResourceType;

/// An API error as the apiserver reports it (`kind: Status`, `status: Failure`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code (and `Status.code`).
    pub code: u16,
    /// Machine-readable `Status.reason`, e.g. `NotFound`, `Expired`.
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
    /// `Status.details` (name, group, kind), when the error concerns one object.
    pub details: Option<Value>,
}

/// Result alias for simulator operations.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    /// Build an error without details.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, rt: &ResourceType, name: &str) -> Self {
        self.details = Some(json!({"name": name, "group": rt.group, "kind": rt.plural}));
        self
    }

    /// 404 for a named object of a type.
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(rt)),
        )
        .with_details(rt, name)
    }

    /// 404 for a path the simulator does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    /// 409 AlreadyExists on create.
    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(rt)),
        )
        .with_details(rt, name)
    }

    /// 409 Conflict on a stale `resourceVersion` precondition.
    pub fn conflict(rt: &ResourceType, name: &str) -> Self {
        let msg = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
             please apply your changes to the latest version and try again",
            qualified(rt)
        );
        Self::new(409, "Conflict", msg).with_details(rt, name)
    }

    /// 422 Invalid.
    pub fn invalid(rt: &ResourceType, name: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            422,
            "Invalid",
            format!("{}.{} \"{name}\" is invalid: {why}", rt.kind, rt.group),
        )
        .with_details(rt, name)
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 410 Expired: the requested resourceVersion was compacted.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    /// 410 Expired for a continue token that outlived the retained history.
    pub fn continue_expired() -> Self {
        Self::new(
            410,
            "Expired",
            "The provided continue parameter is too old to display a consistent list result. \
             You can start a new list without the continue parameter.",
        )
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 Forbidden for a verb on a resource.
    pub fn forbidden(user: &str, verb: &str, resource: &str, group: &str) -> Self {
        let msg = format!(
            "{resource}{}{group} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" \
             in API group \"{group}\"",
            if group.is_empty() { "" } else { "." }
        );
        Self::new(403, "Forbidden", msg)
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// 415 UnsupportedMediaType (e.g. JSON patch, server-side apply).
    pub fn unsupported_media(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/json; got {content_type:?}"
            ),
        )
    }

    /// 5xx injected by a fault (`InternalError` for 500, `ServiceUnavailable` for 503, ...).
    pub fn injected(code: u16) -> Self {
        let reason = match code {
            500 => "InternalError",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            429 => "TooManyRequests",
            _ => "InternalError",
        };
        Self::new(code, reason, format!("simulated failure ({code})"))
    }

    /// The `v1 Status` JSON object.
    pub fn to_status(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }

    /// The Status serialised once, as a body.
    pub fn body(&self) -> Vec<u8> {
        // Serialising a `Value` cannot fail (all keys are strings).
        serde_json::to_vec(&self.to_status()).unwrap_or_default()
    }

    /// An in-stream watch `ERROR` event line carrying this Status.
    pub fn watch_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(&json!({"type": "ERROR", "object": self.to_status()}))
            .unwrap_or_default();
        line.push(b'\n');
        line
    }
}

/// `plural.group` (or `plural` for core), as the apiserver names a resource in messages.
pub fn qualified(rt: &ResourceType) -> String {
    if rt.group.is_empty() {
        rt.plural.to_string()
    } else {
        format!("{}.{}", rt.plural, rt.group)
    }
}
