//! OIDC login (authorization code + PKCE): discovery, the authorization request, the code
//! exchange and ID token verification (signatures checked here, keys from the issuer's JWKS).

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
    /// The login state is unknown or expired.
    #[error("unknown or expired login state")]
    State,
}

/// The OIDC client.
pub struct Client {
    settings: OidcSettings,
}

impl Client {
    /// A client for `settings`.
    pub fn new(settings: OidcSettings) -> Client {
        Client { settings }
    }

    /// The settings.
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }
}
