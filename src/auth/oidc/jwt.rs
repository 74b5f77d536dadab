//! ID token verification: the compact JWS is split, its signature checked with `ring` against
//! the issuer's published key (asymmetric algorithms only — `none` and HMAC are refused, so a
//! public key can never be used as a shared secret), then its claims: issuer, audience,
//! authorized party, expiry, issue time and nonce.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::Value;

use super::Error;

/// Seconds of clock difference tolerated between us and the issuer.
pub const LEEWAY_SECS: i64 = 60;

/// One key of a JWKS document.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Jwk {
    /// `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// Key id.
    pub kid: Option<String>,
    /// The algorithm the key is for, if the issuer says.
    pub alg: Option<String>,
    /// `sig` or `enc`.
    #[serde(rename = "use")]
    pub use_: Option<String>,
    /// RSA modulus (base64url).
    pub n: Option<String>,
    /// RSA exponent (base64url).
    pub e: Option<String>,
    /// Curve of an EC or OKP key.
    pub crv: Option<String>,
    /// EC x coordinate or OKP public key (base64url).
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    pub y: Option<String>,
}

/// The JOSE header.
#[derive(Debug, Deserialize)]
pub struct Header {
    /// Signature algorithm.
    pub alg: String,
    /// Key id.
    pub kid: Option<String>,
}

/// A split, decoded token whose signature is not checked yet.
pub struct Unverified {
    /// The header.
    pub header: Header,
    /// The claims.
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

fn invalid(why: impl Into<String>) -> Error {
    Error::InvalidToken(why.into())
}

fn b64(text: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| invalid("not base64url"))
}

/// Split and decode a compact JWS.
pub fn decode(token: &str) -> Result<Unverified, Error> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a compact JWS"));
    };
    let header = serde_json::from_slice(&b64(h)?).map_err(|_| invalid("bad header"))?;
    let claims: Value = serde_json::from_slice(&b64(c)?).map_err(|_| invalid("bad claims"))?;
    if !claims.is_object() {
        return Err(invalid("claims are not an object"));
    }
    Ok(Unverified {
        header,
        claims,
        signing_input: format!("{h}.{c}"),
        signature: b64(s)?,
    })
}

fn field(value: &Option<String>, name: &str) -> Result<Vec<u8>, Error> {
    b64(value
        .as_deref()
        .ok_or_else(|| invalid(format!("key lacks {name}")))?)
}

/// The `ring` algorithm for a JOSE `alg` and key type; `None` for anything not allowed.
fn rsa_alg(alg: &str) -> Option<&'static signature::RsaParameters> {
    Some(match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
        "PS512" => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

impl Unverified {
    /// Check the signature with `key`; the claims are trusted only after this.
    pub fn verify(&self, key: &Jwk) -> Result<&Value, Error> {
        let alg = self.header.alg.as_str();
        if key.alg.as_deref().is_some_and(|a| a != alg) {
            return Err(invalid(format!(
                "key is for {:?}, token says {alg}",
                key.alg
            )));
        }
        let (msg, sig) = (self.signing_input.as_bytes(), self.signature.as_slice());
        let ok = match (alg, key.kty.as_str()) {
            (a, "RSA") if rsa_alg(a).is_some() => {
                let params = rsa_alg(a).ok_or_else(|| invalid("unsupported"))?;
                let rsa = RsaPublicKeyComponents {
                    n: field(&key.n, "n")?,
                    e: field(&key.e, "e")?,
                };
                rsa.verify(params, msg, sig).is_ok()
            }
            ("ES256" | "ES384", "EC") => {
                let (curve, alg) = match alg {
                    "ES256" => ("P-256", &signature::ECDSA_P256_SHA256_FIXED),
                    _ => ("P-384", &signature::ECDSA_P384_SHA384_FIXED),
                };
                if key.crv.as_deref() != Some(curve) {
                    return Err(invalid("curve does not match the algorithm"));
                }
                let mut point = vec![4u8];
                point.extend(field(&key.x, "x")?);
                point.extend(field(&key.y, "y")?);
                UnparsedPublicKey::new(alg, point).verify(msg, sig).is_ok()
            }
            ("EdDSA", "OKP") if key.crv.as_deref() == Some("Ed25519") => {
                UnparsedPublicKey::new(&signature::ED25519, field(&key.x, "x")?)
                    .verify(msg, sig)
                    .is_ok()
            }
            _ => {
                return Err(invalid(format!(
                    "algorithm {alg} is not accepted for a {} key",
                    key.kty
                )));
            }
        };
        if !ok {
            return Err(invalid("bad signature"));
        }
        Ok(&self.claims)
    }
}

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

/// Check issuer, audience, authorized party, expiry, issue time and nonce.
pub fn check_claims(claims: &Value, want: &Expected) -> Result<(), Error> {
    if claims["iss"].as_str() != Some(want.issuer) {
        return Err(invalid("wrong issuer"));
    }
    let audiences: Vec<&str> = match &claims["aud"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences.contains(&want.audience) {
        return Err(invalid("wrong audience"));
    }
    if (audiences.len() > 1 || claims.get("azp").is_some())
        && claims["azp"].as_str() != Some(want.audience)
    {
        return Err(invalid("wrong authorized party"));
    }
    let exp = claims["exp"].as_i64().ok_or_else(|| invalid("no expiry"))?;
    if exp + LEEWAY_SECS <= want.now {
        return Err(invalid("expired"));
    }
    if claims["iat"]
        .as_i64()
        .is_some_and(|iat| iat - LEEWAY_SECS > want.now)
    {
        return Err(invalid("issued in the future"));
    }
    let nonce = claims["nonce"].as_str().unwrap_or_default();
    if !crate::auth::secret::equal(nonce.as_bytes(), want.nonce.as_bytes()) {
        return Err(invalid("wrong nonce"));
    }
    Ok(())
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
