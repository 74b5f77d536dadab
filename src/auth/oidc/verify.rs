//! ID token verification, by `openidconnect`: the JOSE header (no `none`, no JWE, no nested or
//! `crit` tokens), the signature against the issuer's published key — asymmetric algorithms only,
//! and a key that names its `alg` is used for that algorithm only — then issuer, audience
//! (extra audiences refused), expiry and nonce (compared in constant time). What the crate
//! leaves to us: 60 s of clock leeway, a token issued in the future, and the authorized party.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, ClientId, IdTokenClaims, IdTokenVerifier, IssuerUrl,
    Nonce, SignatureVerificationError,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Error;

/// Seconds of clock difference tolerated between us and the issuer.
pub const LEEWAY_SECS: i64 = 60;

/// Signature algorithms accepted: asymmetric only, so a public key can never serve as an HMAC
/// secret (and the client secret is never a signing key).
const ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Claims beyond the standard ones (the groups claim has an operator-chosen name).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Extra(BTreeMap<String, Value>);

impl AdditionalClaims for Extra {}

/// An ID token as the issuer sent it, not verified yet.
pub type IdToken = openidconnect::IdToken<
    Extra,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// What the claims of an ID token must say.
pub struct Expected<'a> {
    /// Our issuer.
    pub issuer: &'a str,
    /// Our client id.
    pub audience: &'a str,
    /// The nonce sent with the authorization request.
    pub nonce: &'a str,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// What a verified token says about the user.
#[derive(Debug, PartialEq)]
pub struct Identity {
    /// `email`, else `preferred_username`, else `sub`.
    pub subject: String,
    /// The groups claim: an array of strings or one string.
    pub groups: Vec<String>,
}

fn invalid(why: impl Into<String>) -> Error {
    Error::InvalidToken(why.into())
}

fn verifier<'a>(
    keys: &CoreJsonWebKeySet,
    want: &Expected,
) -> Result<IdTokenVerifier<'a, CoreJsonWebKey>, Error> {
    let issuer = IssuerUrl::new(want.issuer.to_string()).map_err(|_| invalid("bad issuer URL"))?;
    let now = DateTime::<Utc>::from_timestamp(want.now, 0).ok_or_else(|| invalid("bad clock"))?;
    let leeway = TimeDelta::seconds(LEEWAY_SECS);
    let client = ClientId::new(want.audience.to_string());
    // A public client's verifier: it refuses HMAC whatever `ALGORITHMS` says.
    Ok(
        IdTokenVerifier::new_public_client(client, issuer, keys.clone())
            .set_allowed_algs(ALGORITHMS)
            // The crate refuses a token whose expiry is not after "now": a clock 60 s behind
            // gives the issuer's clock the leeway.
            .set_time_fn(move || now - leeway)
            .set_issue_time_verifier_fn(move |iat| {
                if iat > now + leeway {
                    Err("issued in the future".to_string())
                } else {
                    Ok(())
                }
            }),
    )
}

/// Why verification failed, in a few words for the log (never the token).
fn reason(e: ClaimsVerificationError) -> Error {
    use SignatureVerificationError as S;
    invalid(match e {
        ClaimsVerificationError::Expired(m) if m.contains("future") => m,
        ClaimsVerificationError::Expired(_) => "expired".into(),
        ClaimsVerificationError::InvalidIssuer(_) => "wrong issuer".into(),
        ClaimsVerificationError::InvalidAudience(_) => "wrong audience".into(),
        ClaimsVerificationError::InvalidNonce(_) => "wrong nonce".into(),
        ClaimsVerificationError::SignatureVerification(S::CryptoError(_)) => "bad signature".into(),
        ClaimsVerificationError::SignatureVerification(S::NoMatchingKey) => {
            "unknown signing key".into()
        }
        ClaimsVerificationError::SignatureVerification(other) => format!("signature: {other}"),
        other => other.to_string(),
    })
}

/// True when `token` names no key that `keys` holds (for its algorithm): the keys may have
/// rotated, and a fresh JWKS may have it.
pub fn needs_other_keys(token: &IdToken, keys: &CoreJsonWebKeySet, want: &Expected) -> bool {
    verifier(keys, want).is_ok_and(|v| {
        matches!(
            token.signing_key(&v),
            Err(SignatureVerificationError::NoMatchingKey)
        )
    })
}

/// Verify `token` with `keys` against `want`; the user's identity once everything holds.
pub fn verify(
    token: &IdToken,
    keys: &CoreJsonWebKeySet,
    want: &Expected,
    groups_claim: &str,
) -> Result<Identity, Error> {
    let nonce = Nonce::new(want.nonce.to_string());
    let claims = token
        .claims(&verifier(keys, want)?, &nonce)
        .map_err(reason)?;
    // OpenID Connect Core 3.1.3.7, 5: an authorized party must be us. (The crate leaves it
    // out; several audiences are refused already.)
    if claims
        .authorized_party()
        .is_some_and(|azp| azp.as_str() != want.audience)
    {
        return Err(invalid("wrong authorized party"));
    }
    identity(claims, groups_claim)
}

fn identity(
    claims: &IdTokenClaims<Extra, CoreGenderClaim>,
    groups_claim: &str,
) -> Result<Identity, Error> {
    let email = claims.email().map(|e| e.as_str());
    let username = claims.preferred_username().map(|u| u.as_str());
    let subject = [email, username, Some(claims.subject().as_str())]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .ok_or_else(|| invalid("no subject"))?
        .to_string();
    Ok(Identity {
        subject,
        groups: groups(claims.additional_claims().0.get(groups_claim)),
    })
}

/// The groups in a claim: an array of strings or one string.
fn groups(claim: Option<&Value>) -> Vec<String> {
    match claim {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|g| g.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(g)) => vec![g.clone()],
        _ => vec![],
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
