//! What a list or watch request selects (namespace, label and field selectors), and how a
//! stored object is presented at the version the client asked for.

use std::borrow::Cow;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use serde_json::Value;

use super::catalog::{ResourceType, api_version};
use super::router::Query;
use super::selector::{Labels, Selector};
use super::status::ApiError;

/// Selection of a list or watch.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// `labelSelector`.
    pub labels: Selector,
    /// `fieldSelector`.
    pub fields: Selector,
    /// Whether `fields` needs more than name and namespace (so the object must be parsed).
    needs_body: bool,
}

impl Filter {
    /// From the URL namespace and query.
    pub fn from_query(namespace: Option<String>, q: &Query) -> Result<Self, ApiError> {
        let labels = Selector::parse(q.get("labelSelector").unwrap_or_default())?;
        let fields = Selector::parse(q.get("fieldSelector").unwrap_or_default())?;
        let needs_body = fields
            .keys()
            .any(|k| k != "metadata.name" && k != "metadata.namespace");
        Ok(Self {
            namespace,
            labels,
            fields,
            needs_body,
        })
    }

    /// Whether an object (or event about it) is selected.
    pub fn matches(&self, ns: &str, name: &str, labels: &Labels, body: &[u8]) -> bool {
        if self.namespace.as_deref().is_some_and(|want| want != ns) {
            return false;
        }
        if !self.labels.matches_labels(labels) {
            return false;
        }
        if self.fields.is_empty() {
            return true;
        }
        let parsed: Option<Value> = if self.needs_body {
            object_of(body)
        } else {
            None
        };
        let lookup = |k: &str| -> Option<&str> {
            match k {
                "metadata.name" => Some(name),
                "metadata.namespace" => Some(ns),
                path => parsed.as_ref().and_then(|v| dotted(v, path)),
            }
        };
        self.fields.matches_with(lookup)
    }
}

/// Parse an object, or the object inside a watch line.
fn object_of(body: &[u8]) -> Option<Value> {
    let v: Value = serde_json::from_slice(body).ok()?;
    match v.get("object") {
        Some(o) if v.get("type").is_some() => Some(o.clone()),
        _ => Some(v),
    }
}

fn dotted<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    path.split('.')
        .try_fold(v, |cur, seg| cur.get(seg))?
        .as_str()
}

/// Present stored bytes at `version`: the stored JSON has `apiVersion` as its first key, so a
/// different served version only needs that one value replaced.
pub fn at_version<'a>(rt: &ResourceType, version: &str, bytes: &'a Bytes) -> Cow<'a, Bytes> {
    if version == rt.version() {
        return Cow::Borrowed(bytes);
    }
    let from = format!("\"apiVersion\":\"{}\"", rt.api_version());
    let to = format!("\"apiVersion\":\"{}\"", api_version(rt.group, version));
    match find(bytes, from.as_bytes()) {
        Some(i) => {
            let mut out = BytesMut::with_capacity(bytes.len() + 8);
            out.extend_from_slice(&bytes[..i]);
            out.extend_from_slice(to.as_bytes());
            out.extend_from_slice(&bytes[i + from.len()..]);
            Cow::Owned(out.freeze())
        }
        None => Cow::Borrowed(bytes),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Position in a list: after which key, at which list resourceVersion.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ContinueToken {
    /// resourceVersion of the first page.
    pub rv: u64,
    /// Namespace of the last returned object.
    pub ns: String,
    /// Name of the last returned object.
    pub name: String,
}

impl ContinueToken {
    /// Opaque string form.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// Parse the opaque form.
    pub fn decode(s: &str) -> Result<Self, ApiError> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| ApiError::bad_request("invalid continue token"))?;
        serde_json::from_slice(&raw).map_err(|_| ApiError::bad_request("invalid continue token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, FluxFlavor};

    #[test]
    fn non_storage_versions_rewrite_only_the_top_level_api_version() {
        let cat = Catalog::new(FluxFlavor::Legacy);
        let rt = &cat.types[cat.by_kind_name("GitRepository").unwrap()];
        let b = Bytes::from_static(
            br#"{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository"}"#,
        );
        assert_eq!(
            &at_version(rt, "v1beta2", &b)[..],
            br#"{"apiVersion":"source.toolkit.fluxcd.io/v1beta2","kind":"GitRepository"}"#
        );
        assert!(matches!(at_version(rt, "v1", &b), Cow::Borrowed(_)));
        let t = ContinueToken {
            rv: 7,
            ns: "a".into(),
            name: "b".into(),
        };
        assert_eq!(ContinueToken::decode(&t.encode()).unwrap(), t);
    }
}
