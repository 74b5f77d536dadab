//! A minimal OpenAPI v3 surface: the root index and, per group/version, PATCH operations that
//! declare `fieldValidation`. That tells kubectl validation happens server-side, so `kubectl
//! apply` works without schemas. OpenAPI v2 (protobuf only, for kubectl) stays 404.

use serde_json::{Map, Value, json};

use super::catalog::api_version;
use super::state::Shared;
use super::status::ApiError;

/// Answer `/openapi/{path}`: the v3 index, or one group-version's document.
pub fn answer(shared: &Shared, path: &str) -> Result<Value, ApiError> {
    let mut groups: Vec<(String, String)> = vec![(String::new(), "v1".to_string())];
    for (g, versions) in shared.catalog.groups() {
        groups.extend(versions.iter().map(|v| (g.to_string(), v.to_string())));
    }
    if path == "v3" {
        let paths: Map<String, Value> = groups
            .iter()
            .map(|(g, v)| {
                let p = gv_path(g, v);
                (
                    p.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=sim")}),
                )
            })
            .collect();
        return Ok(json!({"paths": paths}));
    }
    let Some((g, v)) = groups
        .iter()
        .find(|(g, v)| path == format!("v3/{}", gv_path(g, v)))
    else {
        return Err(ApiError::no_route(&format!("openapi/{path}")));
    };
    Ok(group_version(shared, g, v))
}

/// `api/v1` or `apis/{group}/{version}`.
fn gv_path(g: &str, v: &str) -> String {
    if g.is_empty() {
        format!("api/{v}")
    } else {
        format!("apis/{g}/{v}")
    }
}

/// The OpenAPI v3 document of `g`/`v`: a PATCH operation per served kind, tagged with its
/// group-version-kind (what kubectl reads for server-side field validation).
fn group_version(shared: &Shared, g: &str, v: &str) -> Value {
    let mut paths = Map::new();
    for rt in shared
        .catalog
        .types_at(g, v)
        .into_iter()
        .map(|t| &shared.catalog.types[t])
    {
        let base = format!("/{}", gv_path(g, v));
        let item = if rt.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", rt.plural)
        } else {
            format!("{base}/{}/{{name}}", rt.plural)
        };
        let op = json!({
            "x-kubernetes-group-version-kind": {"group": g, "version": v, "kind": rt.kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(item, json!({"patch": op}));
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": api_version(g, v)},
        "paths": paths,
        "components": {"schemas": {}},
    })
}
