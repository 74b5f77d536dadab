//! OIDC login (authorization code + PKCE) on the `openidconnect` crate: discovery, the
//! authorization request, the code exchange and ID token verification are the crate's; this
//! module holds the settings, the login state cookie, the JWKS refresh policy, the checks the
//! crate leaves to its users (clock leeway, `iat`, `azp`) and the mapping of groups to roles.

use super::Role;

/// OIDC settings.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// Issuer URL without a trailing slash, e.g. `https://accounts.example.com`.
    pub issuer: String,
    /// Our client id at the issuer (also the ID token's audience).
    pub client_id: String,
    /// Client secret; none for a public client.
    pub client_secret: Option<secrecy::SecretString>,
    /// Where the issuer sends the browser back; none: derived from the request's Host.
    pub redirect_url: Option<String>,
    /// Scopes requested, space-separated.
    pub scopes: String,
    /// The claim holding the user's groups.
    pub groups_claim: String,
    /// Group → role; `*` matches anyone.
    pub roles: Vec<(String, Role)>,
}

/// Parse `group=role,group=role`; `*` is any user.
pub fn parse_role_map(text: &str) -> Result<Vec<(String, Role)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (group, role) = pair
                .split_once('=')
                .ok_or_else(|| format!("FLUXO_OIDC_ROLES: {pair:?} is not group=role"))?;
            let role = Role::parse(role).ok_or_else(|| {
                format!("FLUXO_OIDC_ROLES: unknown role {role:?} (viewer, operator, admin)")
            })?;
            Ok((group.trim().to_string(), role))
        })
        .collect()
}

/// The highest role any of `groups` maps to.
pub fn role_for(map: &[(String, Role)], groups: &[String]) -> Option<Role> {
    map.iter()
        .filter(|(g, _)| g == "*" || groups.iter().any(|x| x == g))
        .map(|(_, r)| *r)
        .max()
}

/// Errors of the OIDC flow.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// OIDC login is not configured.
    #[error("OIDC login is not configured")]
    NotConfigured,
    /// The login state cookie is missing or does not match (an old tab, or a forged callback).
    #[error("unknown or expired login state; start the login again")]
    State,
    /// The identity provider refused or the user cancelled.
    #[error("the identity provider answered {0}")]
    Provider(String),
    /// The issuer could not be reached or answered nonsense.
    #[error("cannot talk to the identity provider: {0}")]
    Unreachable(String),
    /// The token endpoint refused the code.
    #[error("the identity provider refused the code: {0}")]
    Exchange(String),
    /// The ID token failed verification.
    #[error("invalid ID token: {0}")]
    InvalidToken(String),
    /// The user's groups map to no role.
    #[error("{0} has no role here (no group of theirs is in FLUXO_OIDC_ROLES)")]
    NoRole(String),
}

mod client;
mod flow;
mod http;
pub mod verify;

pub use client::Client;
pub use flow::{Pending, STATE_COOKIE};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_map_to_the_highest_role_and_star_matches_anyone() {
        let map = parse_role_map("platform=admin, sre=operator,*=viewer").unwrap();
        let groups = |g: &[&str]| g.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            role_for(&map, &groups(&["sre", "platform"])),
            Some(Role::Admin)
        );
        assert_eq!(role_for(&map, &groups(&["sre"])), Some(Role::Operator));
        assert_eq!(role_for(&map, &groups(&[])), Some(Role::Viewer));
        let strict = parse_role_map("platform=admin").unwrap();
        assert_eq!(role_for(&strict, &groups(&["dev"])), None);
        assert!(parse_role_map("platform=root").is_err());
        assert!(parse_role_map("platform").is_err());
    }
}
