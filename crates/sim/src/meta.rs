//! Object metadata rules the apiserver enforces: server-set fields on create, immutable fields
//! and subresource scoping on update, generation bumps on spec change, RFC 7386 merge patch.

use std::sync::Mutex;

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Map, Value, json};

use super::catalog::ResourceType;
use super::selector::Labels;
use super::status::{ApiError, Result};
use super::store::Key;

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main resource: `status` changes are ignored when a status subresource exists.
    Main,
    /// The `/status` subresource: only `status` changes are kept.
    Status,
    /// Internal writers (controller, churn, programmatic API): everything is kept.
    Any,
}

/// Deterministic uid source (seeded, so scenarios replay identically).
pub struct IdGen(Mutex<StdRng>);

impl IdGen {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed ^ 0x005e_ed0f_f1c0)))
    }

    /// A fresh v4-shaped uuid.
    pub fn uid(&self) -> String {
        let bytes: [u8; 16] = self.0.lock().unwrap_or_else(|e| e.into_inner()).random();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// A short random suffix for `generateName`.
    pub fn suffix(&self) -> String {
        const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut rng = self.0.lock().unwrap_or_else(|e| e.into_inner());
        (0..5)
            .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
            .collect()
    }
}

/// RFC 3339 timestamp with second precision, as `metav1.Time` serialises.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `(namespace, name)` of an object.
pub fn key_of(obj: &Value) -> Key {
    let m = &obj["metadata"];
    (
        m["namespace"].as_str().unwrap_or_default().to_string(),
        m["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// Sorted labels of an object.
pub fn labels_of(obj: &Value) -> Labels {
    let mut v: Vec<(String, String)> = obj["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.into()
}

/// Fill server-set fields of a new object and validate its identity.
pub fn prepare_create(rt: &ResourceType, obj: &mut Value, ids: &IdGen) -> Result<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request("the object must be a JSON object"));
    }
    if let Some(kind) = obj["kind"].as_str()
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind {kind:?} does not match {:?}",
            rt.kind
        )));
    }
    let api_version = rt.api_version();
    let obj_map = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("not an object"))?;
    obj_map.insert("apiVersion".into(), Value::String(api_version));
    obj_map.insert("kind".into(), Value::String(rt.kind.into()));
    let md = obj_map.entry("metadata").or_insert_with(|| json!({}));
    let md = md
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
    let name = assign_name(rt, md, ids)?;
    check_namespace(rt, md)?;
    check_string_maps(rt, &name, md)?;
    md.insert("uid".into(), Value::String(ids.uid()));
    md.entry("creationTimestamp")
        .or_insert_with(|| Value::String(now()));
    md.remove("resourceVersion");
    md.remove("deletionTimestamp");
    if rt.generation {
        md.insert("generation".into(), json!(1));
    }
    Ok(())
}

/// The object's name: `metadata.name`, or `generateName` plus a random suffix; a valid
/// RFC 1123 subdomain either way.
fn assign_name(rt: &ResourceType, md: &mut Map<String, Value>, ids: &IdGen) -> Result<String> {
    if md
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        match md.get("generateName").and_then(Value::as_str) {
            Some(prefix) => {
                let name = format!("{prefix}{}", ids.suffix());
                md.insert("name".into(), Value::String(name));
            }
            None => {
                return Err(ApiError::invalid(
                    rt,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            }
        }
    }
    let name = md["name"].as_str().unwrap_or_default().to_string();
    if !valid_name(&name) {
        return Err(ApiError::invalid(
            rt,
            &name,
            "metadata.name: Invalid value: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
        ));
    }
    Ok(name)
}

/// A namespaced object names its namespace; a cluster-scoped one loses any it names.
fn check_namespace(rt: &ResourceType, md: &mut Map<String, Value>) -> Result<()> {
    if rt.namespaced {
        if md
            .get("namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::bad_request(
                "the namespace of the object is required",
            ));
        }
    } else {
        md.remove("namespace");
    }
    Ok(())
}

/// Apply apiserver rules to an updated object: immutable identity, optimistic concurrency,
/// subresource scope, and the generation bump on spec change.
pub fn finish_update(rt: &ResourceType, old: &Value, new: &mut Value, scope: Scope) -> Result<()> {
    let name = old["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !new.is_object() || !new["metadata"].is_object() {
        return Err(ApiError::bad_request(
            "the object and its metadata must be JSON objects",
        ));
    }
    let want_rv = &new["metadata"]["resourceVersion"];
    if !want_rv.is_null() && want_rv != &old["metadata"]["resourceVersion"] {
        return Err(ApiError::conflict(rt, &name));
    }
    match scope {
        Scope::Main if rt.has_status => copy_field(old, new, "status"),
        Scope::Status => {
            let status = new.get("status").cloned();
            *new = old.clone();
            match status {
                Some(s) => new["status"] = s,
                None => drop(new.as_object_mut().map(|m| m.remove("status"))),
            }
        }
        _ => {}
    }
    for field in ["apiVersion", "kind"] {
        copy_field(old, new, field);
    }
    let (old_md, new_md) = (&old["metadata"], &mut new["metadata"]);
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "generation",
        "resourceVersion",
    ] {
        copy_field(old_md, new_md, field);
    }
    if let Some(md) = new_md.as_object() {
        check_string_maps(rt, &name, md)?;
    }
    if rt.generation && old.get("spec") != new.get("spec") {
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
        new["metadata"]["generation"] = json!(generation);
    }
    Ok(())
}

/// Make `new[field]` equal `old[field]` (absent stays absent).
fn copy_field(old: &Value, new: &mut Value, field: &str) {
    let Some(map) = new.as_object_mut() else {
        return;
    };
    match old.get(field) {
        Some(v) => {
            map.insert(field.to_string(), v.clone());
        }
        None => {
            map.remove(field);
        }
    }
}

fn check_string_maps(rt: &ResourceType, name: &str, md: &Map<String, Value>) -> Result<()> {
    for field in ["labels", "annotations"] {
        match md.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) if m.values().all(Value::is_string) => {}
            Some(_) => {
                return Err(ApiError::invalid(
                    rt,
                    name,
                    format!("metadata.{field}: Invalid value: must be a map of strings"),
                ));
            }
        }
    }
    Ok(())
}

/// RFC 1123 subdomain check (lower-case alphanumerics, '-' and '.', ≤ 253 chars).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// JSON merge patch (RFC 7386): objects merge recursively, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, FluxFlavor};

    #[test]
    fn merge_patch_follows_rfc7386_examples() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge_patch(
            &mut t,
            &json!({"a": "z", "c": {"f": null}, "l": [3], "n": {"x": null}}),
        );
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}, "l": [3], "n": {}}));
        let mut s = json!("x");
        merge_patch(&mut s, &json!({"a": 1}));
        assert_eq!(s, json!({"a": 1}));
    }

    #[test]
    fn generation_bumps_only_on_spec_change_and_status_is_scoped() {
        let cat = Catalog::new(FluxFlavor::Flux29);
        let rt = &cat.types[cat.by_kind_name("Kustomization").unwrap()];
        let old = json!({"apiVersion": "x", "kind": "Kustomization",
            "metadata": {"name": "a", "namespace": "n", "generation": 3, "resourceVersion": "7"},
            "spec": {"suspend": false}, "status": {"observedGeneration": 3}});
        let mut new = old.clone();
        new["metadata"]["annotations"] = json!({"k": "v"});
        new["status"]["observedGeneration"] = json!(9);
        finish_update(rt, &old, &mut new, Scope::Main).unwrap();
        assert_eq!(new["metadata"]["generation"], 3);
        assert_eq!(new["status"]["observedGeneration"], 3);
        new["spec"]["suspend"] = json!(true);
        finish_update(rt, &old, &mut new, Scope::Main).unwrap();
        assert_eq!(new["metadata"]["generation"], 4);
        let mut st = old.clone();
        st["spec"]["suspend"] = json!(true);
        st["status"]["observedGeneration"] = json!(5);
        finish_update(rt, &old, &mut st, Scope::Status).unwrap();
        assert_eq!(
            (
                st["spec"]["suspend"].clone(),
                st["status"]["observedGeneration"].clone()
            ),
            (json!(false), json!(5))
        );
        let mut stale = old.clone();
        stale["metadata"]["resourceVersion"] = json!("6");
        assert_eq!(
            finish_update(rt, &old, &mut stale, Scope::Main)
                .unwrap_err()
                .code,
            409
        );
    }
}
