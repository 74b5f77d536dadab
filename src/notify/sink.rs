//! Sinks: where messages go. The URL is checked here (absolute, https unless allowed, no
//! userinfo or fragment); the address policy is applied by the caller (`Notify`), and again on
//! every connect.

use serde::{Deserialize, Serialize};

/// What a sink speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    /// JSON, signed with HMAC-SHA256 (`X-Fluxo-Signature`, `X-Fluxo-Timestamp`).
    Webhook,
    /// Alertmanager's v2 API: `POST {url}/api/v2/alerts`.
    Alertmanager,
    /// A Slack incoming webhook (Block Kit); the URL is the secret.
    Slack,
    /// A Microsoft Teams workflow webhook (an Adaptive Card); the URL is the secret.
    Teams,
}

const KINDS: [SinkKind; 4] = [
    SinkKind::Webhook,
    SinkKind::Alertmanager,
    SinkKind::Slack,
    SinkKind::Teams,
];

impl SinkKind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Alertmanager => "alertmanager",
            SinkKind::Slack => "slack",
            SinkKind::Teams => "teams",
        }
    }

    /// The kind of a stored word.
    pub fn parse(word: &str) -> Option<SinkKind> {
        KINDS.into_iter().find(|k| k.as_str() == word)
    }
}

/// What is sealed in `notify_sinks.credentials`: the whole URL (paths and queries of webhook
/// URLs carry tokens) and the signing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The full URL as given.
    pub url: String,
    /// The webhook's signing secret; `None` for the other kinds.
    pub secret: Option<String>,
}

/// A URL accepted for a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// `scheme://host[:port]`: what the API shows.
    pub endpoint: String,
    /// The host, for the address policy.
    pub host: String,
    /// It is plain http://.
    pub insecure: bool,
}

/// Shortest webhook secret: the signature is only as strong as it.
pub const MIN_SECRET: usize = 16;

/// Check a sink URL. Errors name the field and never quote the URL (it may hold a token).
pub fn accept_url(url: &str, allow_insecure: bool) -> Result<Accepted, String> {
    let bad = |why: &str| Err(format!("url: {why}"));
    if url.len() > 2048 {
        return bad("longer than 2048 characters");
    }
    let Ok(uri) = url.parse::<http::Uri>() else {
        return bad("not a URL");
    };
    let insecure = match uri.scheme_str() {
        Some("https") => false,
        Some("http") if allow_insecure => true,
        Some("http") => return bad("plain http:// is refused unless allowInsecure is true"),
        _ => return bad("must be an absolute https:// URL"),
    };
    let Some(authority) = uri.authority() else {
        return bad("must be an absolute https:// URL");
    };
    if authority.as_str().contains('@') {
        return bad("must not carry user:password@");
    }
    if url.contains('#') {
        return bad("must not have a #fragment");
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.is_empty() {
        return bad("has no host");
    }
    let endpoint = format!("{}://{}", uri.scheme_str().unwrap_or("https"), authority);
    Ok(Accepted {
        endpoint,
        host: host.to_string(),
        insecure,
    })
}

/// Check a sink's secret against its kind.
pub fn check_secret(kind: SinkKind, secret: Option<&str>) -> Result<(), String> {
    match (kind, secret) {
        (SinkKind::Webhook, Some(s)) if s.chars().count() >= MIN_SECRET && s.len() <= 1024 => {
            Ok(())
        }
        (SinkKind::Webhook, _) => Err(format!(
            "secret: a webhook needs a signing secret of {MIN_SECRET}–1024 characters"
        )),
        (_, None) => Ok(()),
        (other, Some(_)) => Err(format!(
            "secret: {} sinks take no secret (their URL is their credential)",
            other.as_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_urls_are_accepted_and_shown_without_path_or_query() {
        let a = accept_url(
            "https://hooks.example.com:8443/T000/B000/XXXX?token=abc",
            false,
        )
        .unwrap();
        assert_eq!(a.endpoint, "https://hooks.example.com:8443");
        assert_eq!(a.host, "hooks.example.com");
        assert!(!a.insecure);
        let v6 = accept_url("https://[fd00::1]/x", false).unwrap();
        assert_eq!(v6.host, "fd00::1");
    }

    #[test]
    fn plain_http_needs_allow_insecure() {
        let err = accept_url("http://127.0.0.1:9093", false).unwrap_err();
        assert!(
            err.starts_with("url:") && err.contains("allowInsecure"),
            "{err}"
        );
        assert!(accept_url("http://127.0.0.1:9093", true).unwrap().insecure);
    }

    #[test]
    fn bad_urls_are_refused_without_quoting_them() {
        for url in [
            "",
            "hooks.example.com/x",
            "ftp://example.com/",
            "https://user:tok3n@example.com/",
            "https://example.com/x#frag",
            "/relative",
        ] {
            let err = accept_url(url, true).unwrap_err();
            assert!(err.starts_with("url: "), "{url}: {err}");
            assert!(!err.contains("tok3n"), "{err}");
        }
    }

    #[test]
    fn webhooks_need_a_long_secret_and_alertmanager_none() {
        assert!(check_secret(SinkKind::Webhook, None).is_err());
        assert!(check_secret(SinkKind::Webhook, Some("short")).is_err());
        assert!(check_secret(SinkKind::Webhook, Some("0123456789abcdef")).is_ok());
        assert!(check_secret(SinkKind::Alertmanager, None).is_ok());
        assert!(check_secret(SinkKind::Alertmanager, Some("x")).is_err());
        assert_eq!(
            SinkKind::parse("alertmanager"),
            Some(SinkKind::Alertmanager)
        );
        assert!(check_secret(SinkKind::Slack, Some("0123456789abcdef")).is_err());
        assert!(check_secret(SinkKind::Teams, None).is_ok());
        for k in KINDS {
            assert_eq!(SinkKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(SinkKind::parse("pagerduty"), None);
    }
}
