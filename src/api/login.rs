//! `/login`: a minimal server-rendered login page (no scripts, so the strict CSP holds) for a
//! token, with a link to OIDC login when configured. The web UI can use the JSON endpoints.

use std::sync::Arc;

use poem::http::{StatusCode, header};
use poem::web::{Data, Form};
use poem::{IntoResponse, Request, Response, handler};

use super::AppState;
use super::auth::Audit;
use super::session::{AUTH_OFF_WARNING, cookie, login};

/// The login form's fields.
#[derive(serde::Deserialize)]
pub struct LoginForm {
    token: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(state: &AppState, message: Option<&str>, status: StatusCode) -> Response {
    let settings = state.auth.settings();
    let mut notes = String::new();
    if !settings.enabled {
        notes.push_str(&format!(
            "<p role=\"alert\"><strong>{AUTH_OFF_WARNING}</strong></p>"
        ));
    }
    if let Some(m) = message {
        notes.push_str(&format!("<p role=\"alert\">{}</p>", escape(m)));
    }
    let oidc = if settings.oidc.is_some() {
        "<p><a href=\"/auth/oidc/login\">Sign in with your identity provider</a></p>"
    } else {
        ""
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Sign in · flux-orchestrator</title></head><body><main>\
         <h1>flux-orchestrator</h1>{notes}{oidc}\
         <form method=\"post\" action=\"/login\"><label>API token \
         <input type=\"password\" name=\"token\" autocomplete=\"off\" required maxlength=\"512\"></label> \
         <button type=\"submit\">Sign in</button></form></main></body></html>"
    );
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(html)
}

/// `GET /login`: the form.
#[handler]
pub fn show(state: Data<&Arc<AppState>>) -> Response {
    page(&state, None, StatusCode::OK)
}

/// `POST /login`: log in with the form's token; on success set the cookie and go to `/`.
#[handler]
pub async fn submit(
    req: &Request,
    state: Data<&Arc<AppState>>,
    audit: Data<&Audit>,
    form: Form<LoginForm>,
) -> Response {
    match login(&state, req, &form.0.token, &audit).await {
        Ok((_, value, until)) => Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, "/")
            .header(
                header::SET_COOKIE,
                cookie(Some((&value, until)), state.auth.settings().secure_cookies),
            )
            .finish(),
        Err(e) => {
            let status = e.into_response().status();
            let message = match status {
                StatusCode::TOO_MANY_REQUESTS => "Too many attempts; wait a minute.",
                StatusCode::FORBIDDEN => "Sign in from this server's own page.",
                StatusCode::UNAUTHORIZED => "That token is unknown, expired or revoked.",
                _ => "Signing in failed; try again shortly.",
            };
            page(&state, Some(message), status)
        }
    }
}
