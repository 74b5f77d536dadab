//! The authorization code flow with PKCE: `start` makes the state, nonce and code verifier and
//! the issuer's login URL; they travel in a short-lived HttpOnly cookie (so any replica can take
//! the callback); `finish` checks the state, exchanges the code with the verifier, verifies the
//! ID token (signature, issuer, audience, expiry, nonce) and maps the user's groups to a role.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::CoreResponseType;
use openidconnect::{
    AuthenticationFlow, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use serde::{Deserialize, Serialize};

use super::verify::{Expected, verify};
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

impl Client {
    /// Begin a login: the issuer URL to send the browser to, and the state to keep.
    pub async fn start(&self, redirect: &str) -> Result<(String, Pending), Error> {
        let client = self.oidc().await?;
        let pending = Pending {
            state: secret::random(),
            nonce: secret::random(),
            verifier: secret::random(),
            redirect: redirect.to_string(),
        };
        let redirect = RedirectUrl::new(pending.redirect.clone())
            .map_err(|e| Error::Unreachable(format!("redirect URL: {e}")))?;
        let verifier = PkceCodeVerifier::new(pending.verifier.clone());
        let (state, nonce) = (pending.state.clone(), pending.nonce.clone());
        // The crate asks for `openid` itself.
        let scopes = self.settings().scopes.split_whitespace();
        let scopes = scopes
            .filter(|s| *s != "openid")
            .map(|s| Scope::new(s.into()));
        let (url, _, _) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .add_scopes(scopes)
            .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier))
            .set_redirect_uri(Cow::Owned(redirect))
            .url();
        Ok((url.into(), pending))
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
        let s = self.settings();
        let expected = Expected {
            issuer: &s.issuer,
            audience: &s.client_id,
            nonce: &pending.nonce,
            now,
        };
        let keys = self.keys_for(&token, &expected).await?;
        let who = verify(&token, &keys, &expected, &s.groups_claim)?;
        let role =
            role_for(&s.roles, &who.groups).ok_or_else(|| Error::NoRole(who.subject.clone()))?;
        Ok(Principal {
            subject: who.subject,
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
}
