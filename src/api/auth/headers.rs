//! Browser hardening on every response (CSP without inline scripts, no framing, no sniffing,
//! no referrer) and the same-origin check for cookie-authenticated requests (CSRF).

use poem::http::{HeaderMap, HeaderValue, header};
use poem::{Endpoint, IntoResponse, Request, Response};

/// The content security policy of the UI and the login page: own scripts only, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; connect-src 'self'; font-src 'self'; \
                       object-src 'none'; base-uri 'none'; form-action 'self'; \
                       frame-ancestors 'none'";
/// The API docs (Swagger UI) ship an inline bootstrap script: allowed on that page only.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
                        style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                        connect-src 'self'; object-src 'none'; base-uri 'none'; \
                        frame-ancestors 'none'";

/// Add the security headers to every response, errors included.
pub async fn secure<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let docs = req.uri().path().starts_with("/api/docs");
    let api = req.uri().path().starts_with("/api/");
    let mut resp = match next.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => super::super::error::to_json(e).await,
    };
    let h = resp.headers_mut();
    let csp = if docs { DOCS_CSP } else { CSP };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(resp)
}

/// The origin (`scheme://host[:port]`) browsers use for this server: the public URL, or
/// `http(s)://` + the Host header.
pub fn own_origin(headers: &HeaderMap, public_url: Option<&str>, tls: bool) -> Option<String> {
    if let Some(url) = public_url {
        let rest = url
            .split_once("://")
            .map(|(s, r)| (s, r.split('/').next().unwrap_or("")));
        return rest.map(|(scheme, host)| format!("{scheme}://{host}"));
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("{}://{host}", if tls { "https" } else { "http" }))
}

/// True when a cookie-authenticated request comes from our own pages: its `Origin` is ours
/// (or an allowed CORS origin), or, without `Origin`, `Sec-Fetch-Site` says same-origin.
pub fn same_origin(headers: &HeaderMap, own: Option<&str>, allowed: &[String]) -> bool {
    // With `Referrer-Policy: no-referrer`, browsers send `Origin: null` on form posts from our
    // own pages; then the browser's own `Sec-Fetch-Site` tells whether the request is same-origin.
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| *o != "null");
    match origin {
        Some(origin) => {
            let origin = origin.trim_end_matches('/');
            own.is_some_and(|own| own.eq_ignore_ascii_case(origin))
                || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin))
        }
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|v| v == "same-origin"),
    }
}

/// True when `host` (a `Host` header: name or address, optional port) names this machine's
/// loopback interface, or the host of the configured public URL.
pub fn loopback_host(host: &str, public_url: Option<&str>) -> bool {
    let name = match host.strip_prefix('[') {
        // [v6]:port
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    let public = public_url
        .and_then(|u| u.split_once("://"))
        .map(|(_, rest)| rest.split('/').next().unwrap_or_default())
        .is_some_and(|own| own.eq_ignore_ascii_case(host));
    public
        || name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_host_names_count_as_loopback() {
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "127.9.9.9",
        ] {
            assert!(loopback_host(ok, None), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:8080",
            "localhost.evil.example",
            "[::2]:80",
            "",
        ] {
            assert!(!loopback_host(bad, None), "{bad}");
        }
        assert!(loopback_host(
            "flux.example.com",
            Some("https://flux.example.com/")
        ));
        assert!(!loopback_host(
            "other.example.com",
            Some("https://flux.example.com")
        ));
    }

    #[test]
    fn a_null_origin_from_a_same_origin_form_post_is_accepted_and_from_elsewhere_refused() {
        let own = Some("http://127.0.0.1:8080");
        let same = headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]);
        assert!(same_origin(&same, own, &[]));
        let cross = headers(&[("origin", "null"), ("sec-fetch-site", "cross-site")]);
        assert!(!same_origin(&cross, own, &[]));
        assert!(!same_origin(&headers(&[("origin", "null")]), own, &[]));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn the_own_origin_comes_from_the_public_url_or_the_host_header() {
        let h = headers(&[("host", "127.0.0.1:8080")]);
        assert_eq!(
            own_origin(&h, None, false).as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            own_origin(&h, Some("https://flux.example.com/base"), false).as_deref(),
            Some("https://flux.example.com")
        );
    }

    #[test]
    fn a_foreign_or_missing_origin_is_not_same_origin() {
        let own = Some("http://127.0.0.1:8080");
        assert!(same_origin(
            &headers(&[("origin", "http://127.0.0.1:8080")]),
            own,
            &[]
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.example")]),
            own,
            &[]
        ));
        assert!(!same_origin(&headers(&[("origin", "null")]), own, &[]));
        assert!(!same_origin(&headers(&[]), own, &[]));
        assert!(same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            own,
            &[]
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            own,
            &[]
        ));
    }
}
