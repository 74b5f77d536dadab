use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;

use super::*;

const NOW: i64 = 1_800_000_000;

struct Signer {
    pair: EcdsaKeyPair,
    jwk: Jwk,
}

fn signer(kid: &str) -> Signer {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let jwk = Jwk {
        kty: "EC".into(),
        kid: Some(kid.into()),
        alg: Some("ES256".into()),
        use_: Some("sig".into()),
        n: None,
        e: None,
        crv: Some("P-256".into()),
        x: Some(URL_SAFE_NO_PAD.encode(&point[1..33])),
        y: Some(URL_SAFE_NO_PAD.encode(&point[33..])),
    };
    Signer { pair, jwk }
}

fn enc(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

impl Signer {
    fn sign(&self, header: Value, claims: Value) -> String {
        let input = format!("{}.{}", enc(&header), enc(&claims));
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

fn claims() -> Value {
    json!({"iss": "https://idp.example", "aud": "fluxo", "sub": "alice", "nonce": "n0nce",
           "iat": NOW - 5, "exp": NOW + 300})
}

fn expected() -> Expected<'static> {
    Expected {
        issuer: "https://idp.example",
        audience: "fluxo",
        nonce: "n0nce",
        now: NOW,
    }
}

fn check(token: &str, key: &Jwk) -> Result<(), Error> {
    let t = decode(token)?;
    check_claims(t.verify(key)?, &expected())
}

fn header() -> Value {
    json!({"alg": "ES256", "kid": "k1"})
}

#[test]
fn a_token_signed_by_the_issuers_key_with_the_right_claims_passes() {
    let s = signer("k1");
    check(&s.sign(header(), claims()), &s.jwk).unwrap();
}

#[test]
fn a_token_signed_by_another_key_or_tampered_with_is_refused() {
    let (s, other) = (signer("k1"), signer("k1"));
    let token = s.sign(header(), claims());
    assert!(check(&token, &other.jwk).is_err(), "another key");
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut c = claims();
    c["sub"] = json!("admin");
    parts[1] = enc(&c);
    assert!(check(&parts.join("."), &s.jwk).is_err(), "tampered claims");
}

#[test]
fn unsigned_and_hmac_tokens_are_refused_whatever_they_claim() {
    let s = signer("k1");
    let none = format!("{}.{}.", enc(&json!({"alg": "none"})), enc(&claims()));
    assert!(check(&none, &s.jwk).is_err());
    let hs = s.sign(json!({"alg": "HS256", "kid": "k1"}), claims());
    assert!(check(&hs, &s.jwk).is_err());
    let rs = s.sign(json!({"alg": "RS256", "kid": "k1"}), claims());
    assert!(
        check(&rs, &s.jwk).is_err(),
        "algorithm differs from the key's"
    );
}

#[test]
fn expired_wrong_issuer_wrong_audience_and_wrong_nonce_are_refused() {
    let s = signer("k1");
    let cases = [
        ("exp", json!(NOW - LEEWAY_SECS - 1), "expired"),
        ("iss", json!("https://evil.example"), "wrong issuer"),
        ("aud", json!("someone-else"), "wrong audience"),
        ("aud", json!(["fluxo", "other"]), "wrong authorized party"),
        ("nonce", json!("replayed"), "wrong nonce"),
        ("iat", json!(NOW + 3600), "issued in the future"),
    ];
    for (claim, value, why) in cases {
        let mut c = claims();
        c[claim] = value;
        match check(&s.sign(header(), c), &s.jwk) {
            Err(Error::InvalidToken(m)) => assert_eq!(m, why),
            other => panic!("{claim}: {other:?}"),
        }
    }
    let mut c = claims();
    c["exp"] = json!(NOW - 10);
    check(&s.sign(header(), c), &s.jwk).expect("within the leeway");
}
