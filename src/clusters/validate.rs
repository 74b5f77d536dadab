//! Validation of cluster names, descriptions and labels, with messages that say what is allowed.

use std::collections::BTreeMap;

/// Longest description accepted.
pub const MAX_DESCRIPTION: usize = 1024;
/// Most labels a cluster may carry.
pub const MAX_LABELS: usize = 64;

/// A name must be a DNS-1123 label (like a Kubernetes namespace) and not look like a UUID, so
/// `/clusters/{name-or-id}` is never ambiguous.
pub fn name(name: &str) -> Result<(), String> {
    if !is_dns1123_label(name) {
        return Err(format!(
            "name {name:?} must be a DNS-1123 label: 1-63 lowercase letters, digits or '-', \
             starting and ending with a letter or digit"
        ));
    }
    if uuid::Uuid::parse_str(name).is_ok() {
        return Err(format!("name {name:?} must not be a UUID"));
    }
    Ok(())
}

/// Descriptions are free text up to [`MAX_DESCRIPTION`] characters.
pub fn description(text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_DESCRIPTION {
        return Err(format!(
            "description is longer than {MAX_DESCRIPTION} characters"
        ));
    }
    Ok(())
}

/// Labels follow Kubernetes label syntax for keys (optional DNS prefix + '/' + name) and values.
pub fn labels(labels: &BTreeMap<String, String>) -> Result<(), String> {
    if labels.len() > MAX_LABELS {
        return Err(format!("at most {MAX_LABELS} labels are allowed"));
    }
    for (key, value) in labels {
        let (prefix, name) = match key.rsplit_once('/') {
            Some((prefix, name)) => (Some(prefix), name),
            None => (None, key.as_str()),
        };
        let prefix_ok = prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(is_dns1123_label));
        if !prefix_ok || !is_label_name(name) {
            return Err(format!(
                "label key {key:?} is not valid: an optional DNS prefix and '/', then 1-63 \
                 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
            ));
        }
        if !value.is_empty() && !is_label_name(value) {
            return Err(format!(
                "label {key:?} has an invalid value: up to 63 letters, digits, '-', '_' or '.', \
                 starting and ending with a letter or digit"
            ));
        }
    }
    Ok(())
}

fn is_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn is_label_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels_and_not_uuids() {
        assert!(name("prod-eu-1").is_ok());
        for bad in ["", "Prod", "-a", "a-", "a_b", "a.b", &"a".repeat(64)] {
            assert!(name(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(name("6f1c1a3e-5b7e-4a8b-9c3d-2e1f0a9b8c7d").is_err());
    }

    #[test]
    fn label_keys_and_values_follow_kubernetes_syntax() {
        let ok: BTreeMap<_, _> = [
            ("team".to_string(), "payments".to_string()),
            ("example.com/tier".to_string(), "".to_string()),
            ("env".to_string(), "Prod_1.a".to_string()),
        ]
        .into();
        assert!(labels(&ok).is_ok());
        for (k, v) in [
            ("", "x"),
            ("a/", "x"),
            ("/a", "x"),
            ("Bad Key", "x"),
            ("k", "bad value"),
            ("k", "-x"),
        ] {
            let map: BTreeMap<_, _> = [(k.to_string(), v.to_string())].into();
            assert!(labels(&map).is_err(), "{k:?}={v:?} should be refused");
        }
    }

    #[test]
    fn long_descriptions_are_refused() {
        assert!(description(&"x".repeat(MAX_DESCRIPTION)).is_ok());
        assert!(description(&"x".repeat(MAX_DESCRIPTION + 1)).is_err());
    }
}
