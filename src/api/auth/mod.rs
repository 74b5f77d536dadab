//! The one place that decides who may call what: every request passes [`guard`], which finds
//! the operation (by the spec's routes), authenticates the caller (bearer token or session
//! cookie with a same-origin check), checks the role and cluster scope from [`policy::RULES`],
//! and audits every mutating request once its answer is known.

pub mod audit;
pub mod headers;
pub mod policy;
mod scope;

use std::sync::Arc;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

pub use audit::Audit;
use policy::{Access, Rule, Target};
pub use scope::permit;

use super::AppState;
use super::error::ApiError;
use super::routes;
use crate::auth::{Auth, Principal};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "fluxo_session";

/// The rule for a path that matches no operation: the docs and spec are public, other API
/// paths need a caller (so unknown API routes reveal nothing), the rest (UI, login) is public.
fn unmatched(path: &str) -> Rule {
    let public = path == "/api/v1/openapi.json" || path.starts_with("/api/docs");
    let access = if public || !(path.starts_with("/api/") || path == "/metrics") {
        Access::Public
    } else {
        Access::Authenticated
    };
    Rule {
        op: "",
        access,
        target: Target::Any,
    }
}

/// The bearer token of a request, if it sends one.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The session cookie of a request, if it sends one.
pub fn session_cookie(req: &Request) -> Option<&str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// The client's IP address: as `net` resolved it (behind a trusted proxy, the forwarded
/// client), else the peer's.
pub fn remote_ip(req: &Request) -> Option<std::net::IpAddr> {
    match req.extensions().get::<crate::net::ClientIp>() {
        Some(client) => Some(client.0),
        None => req.remote_addr().as_socket_addr().map(|a| a.ip()),
    }
}

fn unauthorized(message: String) -> Response {
    let mut resp = ApiError::unauthorized(message).into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"flux-orchestrator\""),
    );
    resp
}

fn refuse(e: crate::auth::Error) -> Response {
    use crate::auth::Error as E;
    match e {
        E::Unauthenticated(_) | E::Expired | E::Revoked => unauthorized(e.to_string()),
        e => ApiError::from(e).into_response(),
    }
}

/// 429 with `Retry-After`.
pub fn too_many(message: String, wait: u64) -> Response {
    let mut resp =
        super::error::json_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", &message);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    resp
}

/// One audit row for a burst of refused anonymous attempts from one address (written once per
/// rate-limit window, so the burst itself cannot flood the table).
async fn audit_burst(auth: &Auth, req: &Request, operation: &str, reason: String) {
    let audit = Audit::default();
    audit.start(operation, req.method(), req.uri().path(), remote_ip(req));
    audit.reason(Some(&reason));
    audit::write(auth.store(), audit.snapshot(), 429).await;
}

/// Check a presented credential, counting unknown ones against the address's failure limit:
/// an address that guesses too often gets 429 without a lookup.
async fn lookup(
    auth: &Auth,
    req: &Request,
    check: impl std::future::Future<Output = crate::auth::Result<Principal>>,
) -> Result<Principal, Response> {
    let ip = remote_ip(req);
    if let Some(wait) = auth.guessing_blocked(ip) {
        return Err(too_many(
            format!("too many unknown credentials from this address; retry in {wait} s"),
            wait,
        ));
    }
    match check.await {
        Err(e @ crate::auth::Error::Unauthenticated(_)) => {
            if let crate::auth::Failure::LimitReached { failures } = auth.lookup_failed(ip) {
                let reason = format!(
                    "{failures} unknown credentials within a minute; further attempts from \
                     this address are refused until the minute ends"
                );
                tracing::warn!(remote = ?ip, failures, "credential guessing: address refused");
                audit_burst(auth, req, "credentialGuessing", reason).await;
            }
            Err(refuse(e))
        }
        other => other.map_err(refuse),
    }
}

/// Who is calling: `--auth=none`'s anonymous admin, a bearer token, or a session cookie
/// (which must come from our own origin when it changes something or opens the stream).
pub async fn authenticate(auth: &Auth, req: &Request) -> Result<Principal, Response> {
    if !auth.settings().enabled {
        return unauthenticated_mode(auth, req)
            .map(|()| Auth::anonymous())
            .map_err(IntoResponse::into_response);
    }
    if let Some(token) = bearer(req) {
        return lookup(auth, req, auth.bearer(token)).await;
    }
    let Some(cookie) = session_cookie(req) else {
        return Err(unauthorized(
            "authentication required: send `Authorization: Bearer <token>` or log in at /login"
                .into(),
        ));
    };
    let principal = lookup(auth, req, auth.session(cookie)).await?;
    if changes_or_streams(req) && !same_origin(auth, req) {
        return Err(cross_origin());
    }
    Ok(principal)
}

/// True for a WebSocket upgrade or a request that may change something.
fn changes_or_streams(req: &Request) -> bool {
    let upgrade = req.headers().contains_key(header::UPGRADE);
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    upgrade || !safe
}

fn cross_origin_error() -> ApiError {
    ApiError::forbidden(
        "cross_origin",
        "a request made by a browser must come from this server's own pages (Origin)",
    )
}

fn cross_origin() -> Response {
    cross_origin_error().into_response()
}

/// `--auth=none` hands every request admin rights, so it must come from this machine's own
/// pages or tools: only a loopback `Host` (a DNS-rebinding page names its own host), and a
/// browser's change or upgrade only from our own origin (a cross-site page sends its own).
fn unauthenticated_mode(auth: &Auth, req: &Request) -> Result<(), ApiError> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if !host.is_some_and(|h| headers::loopback_host(h, auth.settings().public_url.as_deref())) {
        return Err(ApiError::forbidden(
            "host_not_allowed",
            "without authentication (--auth=none) only loopback host names are served \
             (127.0.0.1, localhost, [::1])",
        ));
    }
    let from_browser =
        req.headers().contains_key(header::ORIGIN) || req.headers().contains_key("sec-fetch-site");
    if changes_or_streams(req) && from_browser && !same_origin(auth, req) {
        return Err(cross_origin_error());
    }
    Ok(())
}

/// The credential a request carried, kept by long-lived connections (the stream) to check
/// that it still works: a revoked token, an ended session or an expired one closes them.
#[derive(Debug, Clone)]
pub enum Credential {
    /// `--auth=none`: nothing to re-check.
    Anonymous,
    /// An API token.
    Bearer(String),
    /// A session cookie.
    Session(String),
}

impl Credential {
    /// The credential of `req` as [`authenticate`] used it.
    pub fn of(auth: &Auth, req: &Request) -> Credential {
        if !auth.settings().enabled {
            return Credential::Anonymous;
        }
        match (bearer(req), session_cookie(req)) {
            (Some(token), _) => Credential::Bearer(token.to_string()),
            (None, Some(cookie)) => Credential::Session(cookie.to_string()),
            // authenticate() refused such a request; nothing it could reach holds one.
            (None, None) => Credential::Bearer(String::new()),
        }
    }

    /// Check it again now.
    pub async fn check(&self, auth: &Auth) -> crate::auth::Result<()> {
        match self {
            Credential::Anonymous => Ok(()),
            Credential::Bearer(token) => auth.recheck_bearer(token).await,
            Credential::Session(cookie) => auth.recheck_session(cookie).await,
        }
    }
}

/// True when the request's `Origin` is this server's (or an allowed CORS origin).
pub fn same_origin(auth: &Auth, req: &Request) -> bool {
    let s = auth.settings();
    let own = headers::own_origin(req.headers(), s.public_url.as_deref(), s.secure_cookies);
    headers::same_origin(req.headers(), own.as_deref(), &s.cors_origins)
}

async fn authorize(
    state: &AppState,
    req: &mut Request,
    rule: Rule,
    param: Option<&str>,
    audit: &Audit,
) -> Result<(), Response> {
    if rule.access == Access::Public {
        return Ok(());
    }
    let principal = authenticate(&state.auth, req).await?;
    audit.actor(&principal);
    // The scope check first: it also resolves the target, which the audit entry names even
    // when the role check then refuses.
    scope::check(state, req, &principal, rule.target, param, audit).await?;
    if let Access::Role(needed) = rule.access
        && principal.role < needed
    {
        return Err(ApiError::forbidden(
            "forbidden",
            format!(
                "this operation needs role {}; {} has role {}",
                needed.as_str(),
                principal.subject,
                principal.role.as_str()
            ),
        )
        .into_response());
    }
    req.extensions_mut().insert(principal);
    Ok(())
}

/// The answer while the schema is not in place yet: API and login requests would fail on
/// missing tables, so they are told to come back (probes, the spec, the docs and the UI's
/// static files are served).
fn starting(state: &AppState, method: &Method, path: &str, rule: Rule) -> Option<Response> {
    if *state.ready.borrow() {
        return None;
    }
    let static_page = matches!(rule.op, "healthz" | "readyz")
        || path == "/api/v1/openapi.json"
        || path.starts_with("/api/docs")
        || (path == "/login" && *method == Method::GET)
        || !super::ui::is_server_path(path);
    if static_page {
        return None;
    }
    let mut resp = super::error::json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "starting",
        "the server is starting (applying database migrations); retry in a moment",
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    Some(resp)
}

/// Login endpoints, limited per address before anything (body, token) is read.
fn is_login(rule: Rule, method: &Method, path: &str) -> bool {
    matches!(rule.op, "createSession" | "oidcCallback")
        || (path == "/login" && *method == Method::POST)
}

/// The answer to an authenticated caller for a server path that no operation serves: 405
/// when another method is served there, else 404. Such a request never reaches a handler,
/// so nothing runs without a rule.
fn no_route(method: &Method, path: &str) -> Response {
    let methods = routes::methods_at(path);
    if methods.is_empty() {
        return super::error::json_error(StatusCode::NOT_FOUND, "not_found", "no such route");
    }
    let allow = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut resp = super::error::json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("{method} is not served here; allowed: {allow}"),
    );
    if let Ok(v) = HeaderValue::from_str(&allow) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

/// True for a request the guard answers itself with [`no_route`]: an API path that no
/// operation serves (after authentication), or any method a path of the spec does not serve
/// (public paths too: `TRACE /healthz` gets 405 with `Allow`, not the router's bare 405).
fn unrouted(rule: Rule, path: &str) -> bool {
    rule.op.is_empty() && (rule.access != Access::Public || !routes::methods_at(path).is_empty())
}

/// The guard around the whole application (see the module doc). It also times every request
/// by operation, since it is where the operation is known.
pub async fn guard<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let Some(state) = req.data::<Arc<AppState>>().cloned() else {
        return Err(poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR));
    };
    let started = std::time::Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let matched = routes::operation(&method, &path);
    let rule = matched
        .as_ref()
        .map_or_else(|| unmatched(&path), |(op, _)| policy::rule_of(op));
    let op = matched.as_ref().map_or(rule.op, |(op, _)| *op);
    let resp = match starting(&state, &method, &path, rule) {
        Some(resp) => resp,
        None => guarded(&state, next, req, matched, rule).await,
    };
    state
        .rest_metrics
        .observe(op, resp.status(), started.elapsed());
    Ok(resp)
}

/// Everything the guard does once the server is ready: the login limit, authentication,
/// authorization, the handler, the audit entry.
async fn guarded<E: Endpoint>(
    state: &AppState,
    next: E,
    mut req: Request,
    matched: Option<(&'static str, Option<String>)>,
    rule: Rule,
) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    if is_login(rule, &method, &path)
        && let Err(refused) = state.auth.login_attempt(remote_ip(&req))
    {
        if refused.first {
            let reason = "login attempts over the per-address limit; refused until the minute ends";
            audit_burst(&state.auth, &req, "loginRateLimited", reason.into()).await;
        }
        let message = format!("too many login attempts; retry in {} s", refused.wait);
        return too_many(message, refused.wait);
    }
    let audit = Audit::default();
    audit.start(
        matched.as_ref().map_or(path.as_str(), |(op, _)| op),
        &method,
        &path,
        remote_ip(&req),
    );
    req.extensions_mut().insert(audit.clone());
    let known = matched.is_some() || path == "/login";
    let param = matched.and_then(|(_, p)| p);
    let (resp, by_guard) = match authorize(state, &mut req, rule, param.as_deref(), &audit).await {
        Ok(()) if unrouted(rule, &path) => (no_route(&method, &path), true),
        Ok(()) => match next.call(req).await {
            Ok(r) => (r.into_response(), false),
            Err(e) => (super::error::to_json(e).await, false),
        },
        Err(denied) => (denied, true),
    };
    // Every mutation of a known route and every refusal, except requests without a valid
    // credential, which would let anyone fill the table (they are logged, not audited), and
    // requests a handler found to change nothing.
    let status = resp.status().as_u16();
    // A login by OIDC arrives as a GET (the identity provider's redirect) and is audited too.
    let login = rule.op == "oidcCallback";
    let mutating = login || !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let anonymous_refusal = by_guard && matches!(status, 401 | 429);
    if (mutating && known || status == 403) && !anonymous_refusal && !audit.skipped() {
        audit::write(&state.store, audit.snapshot(), status).await;
    } else if anonymous_refusal {
        tracing::info!(%method, %path, status, "request without a valid credential refused");
    }
    resp
}
