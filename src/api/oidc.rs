//! `/auth/oidc/login` and `/auth/oidc/callback`: browser redirects of the OIDC login
//! (authorization code + PKCE). The callback sets the session cookie and sends the browser to
//! `/` through a same-site page (a cookie set during a cross-site redirect chain would not be
//! sent with `SameSite=Strict` on the next hop).

use std::sync::Arc;

use poem::http::{StatusCode, header};
use poem::web::Data;
use poem::{IntoResponse, Request, Response};
use poem_openapi::param::Query;
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, OpenApi};

use super::auth::{self, Audit};
use super::error::{ApiError, ErrorBody};
use super::session::cookie;
use super::{ApiTags, AppState};
use crate::auth::oidc::{self, Pending, STATE_COOKIE};

/// A redirect or page with cookies: what the browser gets from the OIDC endpoints.
pub struct Browser {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
    html: Option<String>,
}

impl IntoResponse for Browser {
    fn into_response(self) -> Response {
        let mut resp = Response::builder()
            .status(self.status)
            .header(header::CACHE_CONTROL, "no-store");
        if let Some(l) = &self.location {
            resp = resp.header(header::LOCATION, l.as_str());
        }
        for c in &self.cookies {
            resp = resp.header(header::SET_COOKIE, c.as_str());
        }
        match self.html {
            Some(html) => resp.content_type("text/html; charset=utf-8").body(html),
            None => resp.finish(),
        }
    }
}

impl ApiResponse for Browser {
    fn meta() -> MetaResponses {
        let header = |name: &'static str, description: &str| MetaHeader {
            name: name.into(),
            description: Some(description.into()),
            required: false,
            deprecated: false,
            schema: String::schema_ref(),
        };
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "To the identity provider (login) — the login state cookie is set.",
                    status: Some(302),
                    status_range: None,
                    content: vec![],
                    headers: vec![
                        header("Location", "Where to go"),
                        header("Set-Cookie", "Login state"),
                    ],
                },
                MetaResponse {
                    description: "Logged in (callback): the session cookie is set and the page moves on to `/`.",
                    status: Some(200),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "text/html",
                        schema: String::schema_ref(),
                    }],
                    headers: vec![header("Set-Cookie", "The session")],
                },
            ],
        }
    }

    fn register(_registry: &mut Registry) {}
}

fn client(state: &AppState) -> Result<&oidc::Client, ApiError> {
    state
        .auth
        .oidc
        .as_ref()
        .ok_or_else(|| ApiError::not_found("OIDC login is not configured"))
}

fn oidc_error(e: oidc::Error) -> ApiError {
    use oidc::Error as E;
    let message = e.to_string();
    match e {
        E::NotConfigured => ApiError::not_found(message),
        E::State | E::Provider(_) => ApiError::bad_request("oidc_failed", message),
        E::Exchange(_) | E::InvalidToken(_) => ApiError::unauthorized(message),
        E::NoRole(_) => ApiError::forbidden("no_role", message),
        E::Unreachable(_) => ApiError::BadGateway(poem_openapi::payload::Json(ErrorBody {
            code: "oidc_unreachable".into(),
            message,
            oldest: None,
        })),
    }
}

/// The redirect URI: from the public URL, or this request's host.
fn redirect_uri(state: &AppState, c: &oidc::Client, req: &Request) -> Result<String, ApiError> {
    if let Some(url) = &c.settings().redirect_url {
        return Ok(url.clone());
    }
    let own = auth::headers::own_origin(req.headers(), None, state.auth.settings().secure_cookies)
        .ok_or_else(|| ApiError::bad_request("bad_request", "no Host header"))?;
    Ok(format!("{own}/auth/oidc/callback"))
}

fn state_cookie(value: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    // Lax, not Strict: the issuer's redirect back to us is a cross-site navigation.
    match value {
        Some(v) => format!(
            "{STATE_COOKIE}={v}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=600{secure}"
        ),
        None => {
            format!("{STATE_COOKIE}=; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
        }
    }
}

fn pending_of(req: &Request) -> Option<&str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| *n == STATE_COOKIE)
        .map(|(_, v)| v)
}

const DONE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"0;url=/\"><title>Signed in</title></head>\
<body><p>Signed in. <a href=\"/\">Continue</a></p></body></html>";

/// OIDC endpoints.
pub struct OidcApi;

#[OpenApi(prefix_path = "/auth/oidc", tag = "ApiTags::Oidc")]
impl OidcApi {
    /// Log in with OIDC
    ///
    /// Redirects the browser to the identity provider (authorization code flow with PKCE and a
    /// nonce). 404 when OIDC is not configured.
    #[oai(path = "/login", method = "get", operation_id = "oidcLogin")]
    async fn login(&self, req: &Request, state: Data<&Arc<AppState>>) -> Result<Browser, ApiError> {
        let c = client(&state)?;
        let redirect = redirect_uri(&state, c, req)?;
        let (url, pending) = c.start(&redirect).await.map_err(oidc_error)?;
        let secure = state.auth.settings().secure_cookies;
        Ok(Browser {
            status: StatusCode::FOUND,
            location: Some(url),
            cookies: vec![state_cookie(Some(&pending.encode()), secure)],
            html: None,
        })
    }

    /// OIDC callback
    ///
    /// Where the identity provider sends the browser back. Checks the state, exchanges the code
    /// with the PKCE verifier, verifies the ID token (signature against the issuer's keys,
    /// issuer, audience, expiry, nonce), maps the groups claim to a role and starts a session.
    #[oai(path = "/callback", method = "get", operation_id = "oidcCallback")]
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    async fn callback(
        &self,
        req: &Request,
        state: Data<&Arc<AppState>>,
        audit: Data<&Audit>,
        code: Query<Option<String>>,
        #[oai(name = "state")] login_state: Query<Option<String>>,
        error: Query<Option<String>>,
        error_description: Query<Option<String>>,
    ) -> Result<Browser, ApiError> {
        // The guard counted this attempt against the login rate limit already.
        let c = client(&state).inspect_err(|_| audit.skip())?;
        if let Some(e) = error.0 {
            let detail = error_description
                .0
                .map(|d| format!("{e}: {d}"))
                .unwrap_or(e);
            return Err(oidc_error(oidc::Error::Provider(
                detail.chars().take(200).collect(),
            )));
        }
        let (Some(code), Some(login_state)) = (code.0, login_state.0) else {
            return Err(ApiError::bad_request(
                "bad_request",
                "code and state are required",
            ));
        };
        let pending = pending_of(req)
            .ok_or(oidc::Error::State)
            .and_then(Pending::decode)
            .map_err(oidc_error)?;
        let now = chrono::Utc::now().timestamp();
        let principal = c
            .finish(&code, &login_state, &pending, now)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "OIDC login refused");
                oidc_error(e)
            })?;
        audit.actor(&principal);
        let (value, until) = state.auth.start_session(&principal).await?;
        let secure = state.auth.settings().secure_cookies;
        let session = cookie(Some((&value, until)), secure);
        Ok(Browser {
            status: StatusCode::OK,
            location: None,
            cookies: vec![session, state_cookie(None, secure)],
            html: Some(DONE.to_string()),
        })
    }
}
