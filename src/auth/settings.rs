//! [`Settings`] from the command line ([`AuthConfig`]), checked.

use std::net::SocketAddr;
use std::time::Duration;

use super::oidc::{OidcSettings, parse_role_map};
use super::{MIN_ADMIN_TOKEN, Settings};
use crate::config::{AuthConfig, AuthMode};

impl Settings {
    /// The settings, checked: `Err` explains what to change.
    pub fn from_config(c: &AuthConfig, listen: SocketAddr) -> Result<Settings, String> {
        let enabled = c.mode == AuthMode::Token;
        if !enabled && !listen.ip().is_loopback() {
            return Err(format!(
                "--auth=none is only allowed on a loopback address, not {listen}: anyone who \
                 reaches the port would be an admin"
            ));
        }
        if let Some(t) = &c.admin_token
            && t.trim().len() < MIN_ADMIN_TOKEN
        {
            return Err(format!(
                "FLUXO_ADMIN_TOKEN must have at least {MIN_ADMIN_TOKEN} characters"
            ));
        }
        let public_url = c
            .public_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_string());
        let https = public_url
            .as_ref()
            .is_some_and(|u| u.starts_with("https://"));
        let oidc = oidc(c, public_url.as_deref())?;
        Ok(Settings {
            enabled,
            admin_token: c.admin_token.clone().map(|t| t.trim().to_string().into()),
            session_ttl: Duration::from_secs(c.session_ttl_secs.max(60)),
            secure_cookies: c.secure_cookies.unwrap_or(https),
            public_url,
            cors_origins: c
                .cors_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_string())
                .collect(),
            login_attempts_per_minute: c.login_rate_limit,
            failed_lookups_per_minute: c.auth_failure_limit,
            oidc,
        })
    }
}

/// OIDC login, when an issuer and a client id are configured.
fn oidc(c: &AuthConfig, public_url: Option<&str>) -> Result<Option<OidcSettings>, String> {
    let (Some(issuer), Some(client_id)) = (&c.oidc_issuer, &c.oidc_client_id) else {
        return Ok(None);
    };
    let roles = parse_role_map(&c.oidc_roles)?;
    Ok(Some(OidcSettings {
        issuer: issuer.trim_end_matches('/').to_string(),
        client_id: client_id.clone(),
        client_secret: c.oidc_client_secret.clone().map(Into::into),
        redirect_url: public_url.map(|base| format!("{base}/auth/oidc/callback")),
        scopes: c.oidc_scopes.clone(),
        groups_claim: c.oidc_groups_claim.clone(),
        roles,
    }))
}
