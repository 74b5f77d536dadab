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

use super::AppState;
use super::error::ApiError;
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

/// Who is calling: `--auth=none`'s anonymous admin, a bearer token, or a session cookie
/// (which must come from our own origin when it changes something or opens the stream).
pub async fn authenticate(auth: &Auth, req: &Request) -> Result<Principal, Response> {
    if !auth.settings().enabled {
        return Ok(Auth::anonymous());
    }
    if let Some(token) = bearer(req) {
        return auth.bearer(token).await.map_err(refuse);
    }
    let Some(cookie) = session_cookie(req) else {
        return Err(unauthorized(
            "authentication required: send `Authorization: Bearer <token>` or log in at /login"
                .into(),
        ));
    };
    let principal = auth.session(cookie).await.map_err(refuse)?;
    let upgrade = req.headers().contains_key(header::UPGRADE);
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if (upgrade || !safe) && !same_origin(auth, req) {
        return Err(ApiError::forbidden(
            "cross_origin",
            "a cookie-authenticated request must come from this server's own pages (Origin)",
        )
        .into_response());
    }
    Ok(principal)
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

/// The guard around the whole application (see the module doc).
pub async fn guard<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let Some(state) = req.data::<Arc<AppState>>().cloned() else {
        return Err(poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR));
    };
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let matched = policy::operation(&method, &path);
    let rule = matched
        .as_ref()
        .map_or_else(|| unmatched(&path), |(op, _)| policy::rule_of(op));
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
    let (resp, by_guard) = match authorize(&state, &mut req, rule, param.as_deref(), &audit).await {
        Ok(()) => match next.call(req).await {
            Ok(r) => (r.into_response(), false),
            Err(e) => (super::error::to_json(e).await, false),
        },
        Err(denied) => (denied, true),
    };
    // Every mutation of a known route and every refusal, except requests without a valid
    // credential, which would let anyone fill the table (they are logged, not audited).
    let status = resp.status().as_u16();
    // A login by OIDC arrives as a GET (the identity provider's redirect) and is audited too.
    let login = rule.op == "oidcCallback";
    let mutating = login || !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if (mutating && known || status == 403) && !(by_guard && status == 401) {
        audit::write(&state.store, audit.snapshot(), status).await;
    } else if by_guard && status == 401 {
        tracing::info!(%method, %path, "request without a valid credential refused");
    }
    Ok(resp)
}
