//! `/login`: the address people type or were told. Browsers are sent to the UI's sign-in page
//! (`/signin`, the one sign-in page); a form POST still logs in without JavaScript (the web UI
//! itself uses the JSON endpoint `POST /api/v1/session`).

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

fn page(state: &AppState, message: &str, status: StatusCode) -> Response {
    let mut notes = String::new();
    if !state.auth.settings().enabled {
        notes.push_str(&format!(
            "<p role=\"alert\"><strong>{AUTH_OFF_WARNING}</strong></p>"
        ));
    }
    // No second form here: the sign-in page is the UI's.
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Sign in · flux-orchestrator</title></head><body><main>\
         <h1>flux-orchestrator</h1>{notes}<p role=\"alert\">{}</p>\
         <p><a href=\"/signin\">Back to sign in</a></p></main></body></html>",
        escape(message)
    );
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(html)
}

/// `GET /login`: redirect to the UI's sign-in page, keeping the query (`?next=…`).
#[handler]
pub fn show(req: &Request) -> Response {
    let location = match req.uri().query() {
        Some(q) if !q.is_empty() => format!("/signin?{q}"),
        _ => "/signin".to_string(),
    };
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
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
            page(&state, message, status)
        }
    }
}
