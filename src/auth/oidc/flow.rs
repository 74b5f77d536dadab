//! The authorization code flow with PKCE: `start` makes the state, nonce and code verifier and
//! the issuer's login URL; they travel in a short-lived HttpOnly cookie (so any replica can take
//! the callback); `finish` checks the state, exchanges the code with the verifier, verifies the
//! ID token (signature, issuer, audience, expiry, nonce) and maps the user's groups to a role.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::jwt::{Expected, check_claims, decode};
use super::{Client, Error, role_for};
use crate::auth::{Method, Principal, secret};

/// The cookie carrying a login in progress (Path=/auth/oidc, 10 minutes).
pub const STATE_COOKIE: &str = "fluxo_oidc";

/// A login in progress.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Pending {
    /// Echoed by the issuer; must match.
    pub state: String,
    /// Must come back inside the ID token.
    pub nonce: String,
    /// PKCE code verifier; its SHA-256 went to the issuer.
    pub verifier: String,
    /// The redirect URI used (the exchange must repeat it).
    pub redirect: String,
}

impl Pending {
    /// The cookie value.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Parse a cookie value.
    pub fn decode(value: &str) -> Result<Pending, Error> {
        let bytes = URL_SAFE_NO_PAD.decode(value).map_err(|_| Error::State)?;
        serde_json::from_slice(&bytes).map_err(|_| Error::State)
    }
}

/// The groups in a claim: an array of strings or one string.
fn groups(claim: &serde_json::Value) -> Vec<String> {
    match claim {
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|g| g.as_str().map(str::to_string))
            .collect(),
        serde_json::Value::String(g) => vec![g.clone()],
        _ => vec![],
    }
}

impl Client {
    /// Begin a login: the issuer URL to send the browser to, and the state to keep.
    pub async fn start(&self, redirect: &str) -> Result<(String, Pending), Error> {
        let d = self.discovery().await?;
        let pending = Pending {
            state: secret::random(),
            nonce: secret::random(),
            verifier: secret::random(),
            redirect: redirect.to_string(),
        };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
        let s = self.settings();
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", s.client_id.as_str()),
            ("redirect_uri", redirect),
            ("scope", s.scopes.as_str()),
            ("state", pending.state.as_str()),
            ("nonce", pending.nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .map_err(|e| Error::Unreachable(e.to_string()))?;
        let sep = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok((format!("{}{sep}{query}", d.authorization_endpoint), pending))
    }

    /// Finish a login from the callback's `code` and `state` and the pending cookie.
    pub async fn finish(
        &self,
        code: &str,
        state: &str,
        pending: &Pending,
        now: i64,
    ) -> Result<Principal, Error> {
        if !secret::equal(state.as_bytes(), pending.state.as_bytes()) {
            return Err(Error::State);
        }
        let token = self
            .exchange(code, &pending.verifier, &pending.redirect)
            .await?;
        let unverified = decode(&token)?;
        let key = self.key(unverified.header.kid.as_deref()).await?;
        let claims = unverified.verify(&key)?;
        let s = self.settings();
        let expected = Expected {
            issuer: &s.issuer,
            audience: &s.client_id,
            nonce: &pending.nonce,
            now,
        };
        check_claims(claims, &expected)?;
        let subject = ["email", "preferred_username", "sub"]
            .iter()
            .find_map(|c| claims[*c].as_str().filter(|v| !v.is_empty()))
            .ok_or_else(|| Error::InvalidToken("no subject".into()))?
            .to_string();
        let role = role_for(&s.roles, &groups(&claims[s.groups_claim.as_str()]))
            .ok_or_else(|| Error::NoRole(subject.clone()))?;
        Ok(Principal {
            subject,
            role,
            scope: None,
            method: Method::Oidc,
            token_id: None,
            expires_at: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_logins_round_trip_through_the_cookie_and_garbage_is_refused() {
        let p = Pending {
            state: "s".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            redirect: "http://x/cb".into(),
        };
        assert_eq!(Pending::decode(&p.encode()).unwrap(), p);
        assert!(matches!(Pending::decode("%%%"), Err(Error::State)));
        assert!(matches!(Pending::decode("e30"), Err(Error::State)));
    }

    #[test]
    fn groups_come_from_an_array_or_a_single_string() {
        assert_eq!(groups(&serde_json::json!(["a", 1, "b"])), ["a", "b"]);
        assert_eq!(groups(&serde_json::json!("a")), ["a"]);
        assert!(groups(&serde_json::json!(null)).is_empty());
    }
}
