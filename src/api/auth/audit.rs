//! The audit record of one request: the guard starts it, handlers add what only they know
//! (the object, a reason, who logged in), and the guard writes it — to PostgreSQL and to the
//! structured log (target `audit`) — once the response is known.

use std::sync::{Arc, Mutex};

use crate::auth::Principal;
use crate::store::{AuditEntry, Store};

/// Shared handle to the request's audit entry; handlers take it as `Data<&Audit>`.
#[derive(Clone, Default)]
pub struct Audit(Arc<Mutex<(AuditEntry, bool)>>);

impl Audit {
    fn with(&self, f: impl FnOnce(&mut AuditEntry)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()).0);
    }

    /// The request changed nothing and proved nothing (a logout without a session, OIDC while
    /// it is off): no audit row, so anonymous callers cannot fill the table with them.
    pub fn skip(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
    }

    /// True when a handler said the request is not worth an audit row.
    pub fn skipped(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Who acted, known only by name (the session a logout ended).
    pub fn actor_name(&self, subject: &str) {
        self.with(|e| {
            if e.actor.is_empty() {
                e.actor = subject.to_string();
                e.auth_method = "session".into();
            }
        });
    }

    /// Begin the entry of a request.
    pub fn start(
        &self,
        operation: &str,
        method: &poem::http::Method,
        path: &str,
        remote: Option<std::net::IpAddr>,
    ) {
        self.with(|e| {
            e.operation = operation.to_string();
            e.method = method.to_string();
            e.path = path.chars().take(512).collect();
            e.remote = remote.map_or_else(|| "unknown".into(), |ip| ip.to_string());
        });
    }

    /// The cluster acted on.
    pub fn cluster(&self, name: &str) {
        self.with(|e| e.cluster = Some(name.to_string()));
    }

    /// The object acted on (`Kind/namespace/name`, `token/NAME`, ...).
    pub fn object(&self, object: impl Into<String>) {
        let object = object.into();
        self.with(|e| e.object = Some(object));
    }

    /// The reason the caller gave.
    pub fn reason(&self, reason: Option<&str>) {
        self.with(|e| e.reason = reason.map(str::to_string));
    }

    /// Who acted, when the handler authenticated them itself (login).
    pub fn actor(&self, principal: &Principal) {
        self.with(|e| set_actor(e, principal));
    }

    /// The entry so far.
    pub fn snapshot(&self) -> AuditEntry {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).0.clone()
    }
}

/// Record the principal in an entry.
pub fn set_actor(e: &mut AuditEntry, p: &Principal) {
    e.actor = p.subject.clone();
    e.auth_method = p.method.as_str().to_string();
    e.role = Some(p.role.as_str().to_string());
}

/// The result word for a status.
pub fn result_of(status: u16) -> &'static str {
    match status {
        200..=399 => "ok",
        401 | 403 => "denied",
        429 => "rate_limited",
        400..=499 => "refused",
        _ => "failed",
    }
}

/// Write `entry` to the structured log and the database (a failed insert is logged; the
/// request already happened and its answer stands).
pub async fn write(store: &Store, mut entry: AuditEntry, status: u16) {
    entry.status = i32::from(status);
    entry.result = result_of(status).to_string();
    if entry.actor.is_empty() {
        entry.actor = "anonymous".into();
        entry.auth_method = "anonymous".into();
    }
    tracing::info!(
        target: "audit",
        actor = %entry.actor, method = %entry.auth_method, role = entry.role.as_deref().unwrap_or("-"),
        remote = %entry.remote, operation = %entry.operation, path = %entry.path,
        cluster = entry.cluster.as_deref().unwrap_or("-"), object = entry.object.as_deref().unwrap_or("-"),
        reason = entry.reason.as_deref().unwrap_or("-"), status, result = %entry.result,
        "audit"
    );
    if let Err(e) = store.insert_audit(&entry).await {
        tracing::error!(error = %e, operation = %entry.operation, "cannot write the audit log");
    }
}
