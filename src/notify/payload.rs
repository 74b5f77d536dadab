//! What is sent: the webhook's signature and the bodies of a test message. Pure.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// `X-Fluxo-Signature`'s value: `sha256=` and the hex HMAC-SHA256 of `timestamp.body` under
/// the sink's secret. The timestamp (`X-Fluxo-Timestamp`, Unix seconds) is signed with the body
/// so a receiver can refuse old messages replayed.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", hex::encode(ctx.sign().as_ref()))
}

/// The webhook body of a test message.
pub fn webhook_test(sink: &str, id: uuid::Uuid, at: DateTime<Utc>) -> Value {
    json!({
        "type": "test",
        "id": id,
        "sink": sink,
        "at": at,
        "summary": format!("test message from flux-orchestrator to sink {sink}"),
        "items": [],
    })
}

/// The Alertmanager v2 body of a test message: one alert that resolves itself after five minutes (`endsAt` set),
/// so it pages nobody for long and can be read back meanwhile.
pub fn alertmanager_test(sink: &str, at: DateTime<Utc>) -> Value {
    json!([{
        "labels": {
            "alertname": "FluxoTest",
            "source": "flux-orchestrator",
            "sink": sink,
        },
        "annotations": {"summary": format!("test message from flux-orchestrator to sink {sink}")},
        "startsAt": at,
        "endsAt": at + chrono::Duration::minutes(5),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // The documented recipe, computed in one piece: HMAC(secret, "<ts>.<body>").
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"0123456789abcdef");
        let expected = ring::hmac::sign(&key, b"1700000000.{\"a\":1}");
        assert_eq!(
            signature("0123456789abcdef", 1_700_000_000, br#"{"a":1}"#),
            format!("sha256={}", hex::encode(expected.as_ref()))
        );
        assert_ne!(
            signature("0123456789abcdef", 1_700_000_001, br#"{"a":1}"#),
            signature("0123456789abcdef", 1_700_000_000, br#"{"a":1}"#)
        );
    }

    #[test]
    fn the_rfc_4231_vector_matches() {
        // RFC 4231 test case 2: the HMAC under the signature is the standard one.
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"Jefe");
        let tag = ring::hmac::sign(&key, b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(tag.as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_alertmanager_test_alert_resolves_and_names_the_sink() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let body = alertmanager_test("am", at);
        assert_eq!(body[0]["labels"]["sink"], "am");
        assert_eq!(body[0]["endsAt"], "2026-01-01T00:05:00Z");
    }
}
