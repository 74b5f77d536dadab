//! Discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{g}`, `/apis/{g}/{v}`, plain or
//! aggregated (`apidiscovery.k8s.io/v2` / `v2beta1`) as the `Accept` header asks.

use http::{HeaderMap, Response, header};
use serde_json::{Value, json};

use super::catalog::{ResourceType, api_version};
use super::openapi;
use super::router::Route;
use super::server::{Body, json_typed};
use super::state::Shared;
use super::status::ApiError;

const VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

/// Answer a discovery route.
pub fn answer(
    shared: &Shared,
    route: &Route,
    headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let aggregated = if shared.opts.aggregated_discovery {
        wants_aggregated(headers)
    } else {
        None
    };
    let body = match (route, aggregated) {
        (Route::Health, _) => return Ok(json_typed(200, "text/plain; charset=utf-8", "ok")),
        (Route::Version, _) => version(),
        (Route::CoreVersions, Some(v)) => {
            return Ok(aggregated_response(v, aggregated_list(shared, v, true)));
        }
        (Route::Groups, Some(v)) => {
            return Ok(aggregated_response(v, aggregated_list(shared, v, false)));
        }
        (Route::CoreVersions, None) => core_versions(shared),
        (Route::Groups, None) => json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": shared.catalog.groups().iter().map(|(g, vs)| api_group(g, vs)).collect::<Vec<_>>(),
        }),
        (Route::Group(g), _) => {
            let groups = shared.catalog.groups();
            let (g, vs) = groups
                .iter()
                .find(|(name, _)| name == g)
                .ok_or_else(|| ApiError::no_route(g))?;
            api_group(g, vs)
        }
        (Route::Resources { group, version }, _) => resource_list(shared, group, version)?,
        (Route::OpenApi(path), _) => openapi::answer(shared, path)?,
        _ => return Err(ApiError::no_route("unknown path")),
    };
    Ok(json_typed(
        200,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
    ))
}

/// The aggregated-discovery version the client prefers, if it asked for one before plain JSON.
fn wants_aggregated(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    for range in accept.split(',') {
        let params: Vec<&str> = range.split(';').map(str::trim).collect();
        let has = |p: &str| params.contains(&p);
        if has("as=APIGroupDiscoveryList") && has("g=apidiscovery.k8s.io") {
            if has("v=v2") {
                return Some("v2");
            }
            if has("v=v2beta1") {
                return Some("v2beta1");
            }
        } else if params
            .first()
            .is_some_and(|m| *m == "application/json" || *m == "*/*")
            && params.len() == 1
        {
            return None;
        }
    }
    None
}

fn aggregated_response(v: &str, body: Value) -> Response<Body> {
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList");
    json_typed(200, &ct, serde_json::to_vec(&body).unwrap_or_default())
}

fn version() -> Value {
    json!({
        "major": "1", "minor": "35", "gitVersion": "v1.35.0-fluxo-sim",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2025-12-17T00:00:00Z", "goVersion": "go1.25.5", "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn core_versions(shared: &Shared) -> Value {
    let addr = shared.addr.get().map(|a| a.to_string()).unwrap_or_default();
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}],
    })
}

fn api_group(name: &str, versions: &[&str]) -> Value {
    let gv = |v: &str| json!({"groupVersion": api_version(name, v), "version": v});
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": versions.iter().map(|v| gv(v)).collect::<Vec<_>>(),
        "preferredVersion": gv(versions.first().copied().unwrap_or("v1")),
    })
}

fn resource_list(shared: &Shared, group: &str, version: &str) -> Result<Value, ApiError> {
    let types = shared.catalog.types_at(group, version);
    if types.is_empty() {
        return Err(ApiError::no_route(&api_version(group, version)));
    }
    let mut resources = Vec::new();
    for rt in types.iter().map(|&t| &shared.catalog.types[t]) {
        resources.push(json!({
            "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
            "kind": rt.kind, "verbs": VERBS, "shortNames": rt.short_names,
        }));
        if rt.has_status {
            resources.push(json!({
                "name": format!("{}/status", rt.plural), "singularName": "", "namespaced": rt.namespaced,
                "kind": rt.kind, "verbs": STATUS_VERBS,
            }));
        }
    }
    Ok(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": api_version(group, version),
        "resources": resources,
    }))
}

fn aggregated_resource(rt: &ResourceType) -> Value {
    let kind = json!({"group": "", "version": "", "kind": rt.kind});
    let mut r = json!({
        "resource": rt.plural,
        "responseKind": kind,
        "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": rt.singular,
        "verbs": VERBS,
        "shortNames": rt.short_names,
    });
    if rt.has_status {
        r["subresources"] =
            json!([{"subresource": "status", "responseKind": kind, "verbs": STATUS_VERBS}]);
    }
    r
}

fn aggregated_list(shared: &Shared, v: &str, core: bool) -> Value {
    let groups: Vec<(&str, Vec<&str>)> = if core {
        vec![("", vec!["v1"])]
    } else {
        shared.catalog.groups()
    };
    let items: Vec<Value> = groups
        .iter()
        .map(|(g, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|ver| {
                    let resources: Vec<Value> = shared
                        .catalog
                        .types_at(g, ver)
                        .into_iter()
                        .map(|t| aggregated_resource(&shared.catalog.types[t]))
                        .collect();
                    json!({"version": ver, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let metadata = if core {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": g, "creationTimestamp": null})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{v}"),
        "metadata": {},
        "items": items,
    })
}
