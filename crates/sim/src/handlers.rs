//! Object requests: GET, POST, PUT, PATCH (merge, strategic-as-merge, apply-as-merge, JSON
//! patch) and DELETE, on the main resource and `/status`.

use std::sync::Arc;

use http::{HeaderMap, Request, Response, header};
use hyper::body::Incoming;
use serde_json::Value;

use super::counts::Verb;
use super::filter::at_version;
use super::meta::{Scope, key_of, merge_patch};
use super::objects::delete_namespace_contents;
use super::router::{Query, ResourceRoute};
use super::server::{Body, json, read_body};
use super::state::Shared;
use super::status::{ApiError, Result};
use super::store::Stored;
use super::{access, jsonpatch, list, watch};

/// Route an object or collection request.
pub async fn dispatch(
    shared: Arc<Shared>,
    r: ResourceRoute,
    q: Query,
    verb: Verb,
    req: Request<Incoming>,
) -> Result<Response<Body>> {
    let rt = shared.store.rt(r.ty).clone();
    let scope = match r.subresource.as_deref() {
        None => Scope::Main,
        Some("status") if rt.has_status => Scope::Status,
        Some(other) => return Err(ApiError::no_route(&format!("{}/{other}", rt.plural))),
    };
    let (parts, body) = req.into_parts();
    match verb {
        Verb::Watch => watch::start(shared, r, &q, &parts.headers),
        Verb::List => list::list(&shared, &r, &q, &parts.headers),
        Verb::Get => {
            let obj = get(&shared, &r)?;
            Ok(object(&shared, &r, &obj, 200))
        }
        Verb::Create => {
            let body = parse_body(&parts.headers, &read_body(body).await?)?;
            create(&shared, &r, body)
        }
        Verb::Update => {
            let body = parse_body(&parts.headers, &read_body(body).await?)?;
            let name = r.name.clone().unwrap_or_default();
            let (obj, changed) = shared.store.update(r.ty, ns(&r), &name, scope, move |v| {
                *v = body;
                Ok(())
            })?;
            after_write(&shared, &r, scope, changed);
            Ok(object(&shared, &r, &obj, 200))
        }
        Verb::Patch => patch(&shared, &r, scope, &parts.headers, &read_body(body).await?),
        Verb::Delete => {
            let name = r.name.clone().unwrap_or_default();
            if r.ty == shared.catalog.namespace_type()
                && shared.store.get(r.ty, "", &name).is_some()
            {
                delete_namespace_contents(&shared, &name);
            }
            let obj = shared.store.delete(r.ty, ns(&r), &name)?;
            Ok(object(&shared, &r, &obj, 200))
        }
        Verb::Discovery => Err(ApiError::method_not_allowed()),
    }
}

fn ns(r: &ResourceRoute) -> &str {
    r.namespace.as_deref().unwrap_or_default()
}

fn get(shared: &Shared, r: &ResourceRoute) -> Result<Arc<Stored>> {
    let name = r.name.as_deref().unwrap_or_default();
    shared
        .store
        .get(r.ty, ns(r), name)
        .ok_or_else(|| ApiError::not_found(shared.store.rt(r.ty), name))
}

fn object(shared: &Shared, r: &ResourceRoute, obj: &Stored, code: u16) -> Response<Body> {
    let rt = shared.store.rt(r.ty);
    json(code, at_version(rt, &r.version, &obj.bytes).into_owned())
}

/// JSON, or YAML when the client says so (server-side apply bodies).
fn parse_body(headers: &HeaderMap, raw: &[u8]) -> Result<Value> {
    let ct = content_type(headers);
    let parsed = if ct.contains("yaml") {
        serde_yaml::from_slice::<Value>(raw).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice::<Value>(raw).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| ApiError::bad_request(format!("unable to decode the request body: {e}")))
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase()
}

fn create(shared: &Shared, r: &ResourceRoute, mut body: Value) -> Result<Response<Body>> {
    let rt = shared.store.rt(r.ty).clone();
    if r.name.is_some() {
        return Err(ApiError::method_not_allowed());
    }
    if let Some(ns) = &r.namespace {
        match body["metadata"]["namespace"].as_str() {
            Some(b) if !b.is_empty() && b != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => body["metadata"]["namespace"] = Value::String(ns.clone()),
        }
        ensure_namespace(shared, ns)?;
        access::fill_token(shared, &rt, ns, &mut body);
    }
    if rt.has_status
        && (rt.is_flux() || rt.is_workload())
        && let Some(m) = body.as_object_mut()
    {
        // Status is the controllers' to write; the apiserver drops it on create.
        m.remove("status");
    }
    let obj = shared.store.create(r.ty, body)?;
    after_create(shared, r, &obj);
    Ok(object(shared, r, &obj, 201))
}

fn ensure_namespace(shared: &Shared, ns: &str) -> Result<()> {
    let nt = shared.catalog.namespace_type();
    match shared.store.get(nt, "", ns) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(shared.store.rt(nt), ns)),
    }
}

fn patch(
    shared: &Shared,
    r: &ResourceRoute,
    scope: Scope,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Response<Body>> {
    let ct = content_type(headers);
    let name = r.name.clone().unwrap_or_default();
    let kind = if ct.starts_with("application/merge-patch+json")
        || ct.starts_with("application/strategic-merge-patch+json")
    {
        PatchKind::Merge
    } else if ct.starts_with("application/apply-patch") {
        PatchKind::Apply
    } else if ct.starts_with("application/json-patch+json") {
        PatchKind::Json
    } else {
        return Err(ApiError::unsupported_media(&ct));
    };
    let body = parse_body(headers, raw)?;
    if kind == PatchKind::Apply
        && scope == Scope::Main
        && shared.store.get(r.ty, ns(r), &name).is_none()
    {
        // Server-side apply creates missing objects.
        let mut obj = body;
        obj["metadata"]["name"] = Value::String(name);
        let r2 = ResourceRoute {
            name: None,
            ..r.clone()
        };
        return create(shared, &r2, obj);
    }
    let (obj, changed) = shared
        .store
        .update(r.ty, ns(r), &name, scope, |v| match kind {
            PatchKind::Json => jsonpatch::apply(v, &body),
            _ => {
                merge_patch(v, &body);
                Ok(())
            }
        })?;
    after_write(shared, r, scope, changed);
    Ok(object(shared, r, &obj, 200))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatchKind {
    Merge,
    Apply,
    Json,
}

/// Whether the built-in controllers answer changes to objects of this type.
fn controlled(shared: &Shared, r: &ResourceRoute) -> bool {
    let rt = shared.store.rt(r.ty);
    rt.is_flux() || rt.is_workload()
}

fn after_create(shared: &Shared, r: &ResourceRoute, obj: &Stored) {
    if !controlled(shared, r) {
        return;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&obj.bytes) {
        let (ns, name) = key_of(&v);
        shared.notify_controller(r.ty, &ns, &name);
    }
}

fn after_write(shared: &Shared, r: &ResourceRoute, scope: Scope, changed: bool) {
    if changed && scope == Scope::Main && controlled(shared, r) {
        shared.notify_controller(r.ty, ns(r), r.name.as_deref().unwrap_or_default());
    }
}
