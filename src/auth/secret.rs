//! Random secrets (API tokens, session ids, OIDC state) and how they are compared and stored.
//! Tokens are 256 random bits with a `fluxo_` prefix, so a leaked one is easy to grep for; only
//! their SHA-256 is stored (a fast hash is enough for 256-bit random secrets).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of every generated API token.
pub const TOKEN_PREFIX: &str = "fluxo_";

/// 32 random bytes, base64url without padding (43 characters).
pub fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token: `fluxo_` and 256 random bits.
pub fn new_token() -> String {
    format!("{TOKEN_PREFIX}{}", random())
}

/// SHA-256 of a secret, as stored.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// What may be shown of a token: its first 10 characters (prefix and 4 random ones).
pub fn hint(secret: &str) -> String {
    let visible: String = secret.chars().take(10).collect();
    format!("{visible}…")
}

/// Compare two byte strings in time independent of where they differ.
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_and_carry_256_random_bits() {
        let (a, b) = (new_token(), new_token());
        assert!(a.starts_with("fluxo_"));
        assert_eq!(a.len(), 6 + 43);
        assert_ne!(a, b);
        assert!(!hint(&a).contains(&a[10..]));
    }

    #[test]
    fn digests_compare_equal_only_for_the_same_secret() {
        let t = new_token();
        assert!(equal(&digest(&t), &digest(&t)));
        assert!(!equal(&digest(&t), &digest("other")));
        assert!(!equal(b"ab", b"abc"));
    }
}
