//! The web UI (`web/`, built to `web/dist`) at `/`: static files, and `index.html` for every
//! other path that is not the API's, so client-side routes survive a reload.

use poem::http::header::{self, HeaderValue};
use poem::http::{Method, StatusCode};
use poem::{Endpoint, IntoEndpoint, IntoResponse, Request, Response, Result};
use rust_embed::RustEmbed;

/// `web/dist`. Release builds embed it; debug builds read it from disk, so a rebuilt UI shows
/// without recompiling. A missing folder (UI not built) is allowed: see [`NOT_BUILT`].
#[derive(RustEmbed)]
#[folder = "web/dist"]
#[allow_missing = true]
struct Assets;

/// Which `web/dist` this binary was built with (`build.rs`): a changed UI changes it, so cargo
/// recompiles the embed. Sent with the UI's files as `x-ui-build`.
pub const UI_STAMP: &str = env!("FLUXO_UI_STAMP");

/// Answered for UI paths when `web/dist/index.html` was not there at build time.
const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>flux-orchestrator</title>\
<h1>flux-orchestrator</h1><p>The web UI was not built into this binary. Build it with \
<code>make build</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then \
rebuild the server). The API works without it: <a href=\"/api/docs\">/api/docs</a>.</p>";

/// `/favicon.ico`, which browsers ask for by themselves (pages without an icon link, such as
/// the API docs). Built in, so it is there whether or not the UI was built.
const FAVICON: &[u8] = include_bytes!("../../web/public/favicon.ico");

/// Paths that belong to the server, never to the UI's fallback.
pub(crate) fn is_server_path(path: &str) -> bool {
    let reserved = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    reserved("/api")
        || reserved("/auth")
        || ["/healthz", "/readyz", "/metrics", "/login"].contains(&path)
}

/// `inner` (the API) with the UI in front of it for every GET/HEAD outside the server's paths.
pub fn with_ui<E: IntoEndpoint>(inner: E) -> WithUi<E::Endpoint> {
    WithUi(inner.into_endpoint())
}

/// See [`with_ui`].
pub struct WithUi<E>(E);

impl<E: Endpoint> Endpoint for WithUi<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path();
        if is_server_path(path) || !matches!(*req.method(), Method::GET | Method::HEAD) {
            return self.0.call(req).await.map(IntoResponse::into_response);
        }
        Ok(serve(path))
    }
}

/// A file of the UI, or `index.html` for client routes (and for unknown files without an
/// extension); 404 for a missing asset, so a stale page notices instead of parsing HTML as JS.
fn serve(path: &str) -> Response {
    let name = path.trim_start_matches('/');
    if name == "favicon.ico" {
        return file_response("image/x-icon", "public, max-age=86400", FAVICON.to_vec());
    }
    if let Some(file) = (!name.is_empty()).then(|| Assets::get(name)).flatten() {
        // Vite puts content-hashed names under assets/: they never change.
        let cache = if name.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return file_response(content_type(name), cache, file.data.into_owned());
    }
    let last = name.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .content_type("text/plain; charset=utf-8")
            .body("not found");
    }
    match Assets::get("index.html") {
        Some(index) => file_response(
            "text/html; charset=utf-8",
            "no-cache",
            index.data.into_owned(),
        ),
        None => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .content_type("text/html; charset=utf-8")
            .body(NOT_BUILT),
    }
}

fn file_response(content_type: &str, cache: &'static str, body: Vec<u8>) -> Response {
    Response::builder()
        .content_type(content_type)
        .header(header::CACHE_CONTROL, HeaderValue::from_static(cache))
        .header(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        )
        .header("x-ui-build", HeaderValue::from_static(UI_STAMP))
        .body(body)
}

/// The content type of the files Vite emits.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_paths_never_fall_back_to_the_ui() {
        for p in [
            "/api",
            "/api/",
            "/api/v1/nope",
            "/healthz",
            "/readyz",
            "/metrics",
        ] {
            assert!(is_server_path(p), "{p}");
        }
        for p in [
            "/",
            "/resources",
            "/apis",
            "/r/123",
            "/metrics-dashboard",
            "/healthz/x",
        ] {
            assert!(!is_server_path(p), "{p}");
        }
    }

    #[test]
    fn missing_assets_are_404_and_client_routes_get_the_page() {
        assert_eq!(
            serve("/assets/missing-123.js").status(),
            StatusCode::NOT_FOUND
        );
        let page = serve("/resources/abc");
        // index.html when the UI is built, the "not built" page otherwise.
        assert!(
            page.status() == StatusCode::OK || page.status() == StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(
            page.content_type()
                .is_some_and(|t| t.starts_with("text/html"))
        );
    }

    #[test]
    fn the_favicon_is_served_even_without_a_ui_build() {
        let icon = serve("/favicon.ico");
        assert_eq!(icon.status(), StatusCode::OK);
        assert_eq!(icon.content_type(), Some("image/x-icon"));
        // An ICO header: reserved 0, type 1 (icon).
        assert_eq!(&FAVICON[..4], &[0, 0, 1, 0]);
    }

    #[test]
    fn content_types_of_vite_output() {
        assert_eq!(
            content_type("assets/index-1.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("assets/index-1.css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
    }
}
