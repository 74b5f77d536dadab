//! The routes of the API as the spec lists them: which operation a request is for and which
//! methods a path serves. Read by the guard (rules, 404/405) and by error explanations. The
//! router is poem-openapi's; this table is built from the same spec, so the two cannot differ
//! on what exists.

use std::sync::OnceLock;

use poem::http::Method;
use serde_json::Value;

/// One route of the spec: method, path segments (`None` for a parameter), operation id.
struct Route {
    method: Method,
    segments: Vec<Option<String>>,
    op: String,
}

fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let spec: Value = serde_json::from_str(&crate::api::raw_spec()).unwrap_or_default();
        let mut out = Vec::new();
        for (path, ops) in spec["paths"].as_object().into_iter().flatten() {
            for (method, op) in ops.as_object().into_iter().flatten() {
                let (Ok(method), Some(id)) = (
                    method.to_uppercase().parse::<Method>(),
                    op["operationId"].as_str(),
                ) else {
                    continue;
                };
                let segments = split(path)
                    .map(|s| (!(s.starts_with('{') || s.starts_with(':'))).then(|| s.to_string()))
                    .collect();
                out.push(Route {
                    method,
                    segments,
                    op: id.to_string(),
                });
            }
        }
        out
    })
}

/// Every operation id of the spec.
pub fn operation_ids() -> impl Iterator<Item = &'static str> {
    routes().iter().map(|r| r.op.as_str())
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The operation a request is for, and its first path parameter, if any route matches.
/// Literal segments win over parameters.
pub fn operation(method: &Method, path: &str) -> Option<(&'static str, Option<String>)> {
    let parts: Vec<&str> = split(path).collect();
    let mut best: Option<(&Route, usize)> = None;
    for route in routes()
        .iter()
        .filter(|r| r.method == method || (method == Method::HEAD && r.method == Method::GET))
    {
        if route.segments.len() != parts.len() {
            continue;
        }
        let matches = route
            .segments
            .iter()
            .zip(&parts)
            .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p));
        let literal = route.segments.iter().filter(|s| s.is_some()).count();
        if matches && best.is_none_or(|(_, l)| literal > l) {
            best = Some((route, literal));
        }
    }
    let (route, _) = best?;
    let param = route
        .segments
        .iter()
        .zip(&parts)
        .find(|(s, _)| s.is_none())
        .and_then(|(_, p)| decode(p));
    Some((route.op.as_str(), param))
}

/// A path parameter as the router hands it to handlers: percent-decoded as UTF-8. The router
/// drops a parameter that is not valid UTF-8 once decoded; so does this (`None`).
fn decode(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The methods some route of the spec serves at `path` (for 405 and `Allow`).
pub fn methods_at(path: &str) -> Vec<Method> {
    let parts: Vec<&str> = split(path).collect();
    let mut methods: Vec<Method> = routes()
        .iter()
        .filter(|r| {
            r.segments.len() == parts.len()
                && r.segments
                    .iter()
                    .zip(&parts)
                    .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p))
        })
        .map(|r| r.method.clone())
        .collect();
    methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    methods.dedup();
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_matched_to_operations_literals_first() {
        assert_eq!(
            operation(&Method::GET, "/api/v1/clusters"),
            Some(("listClusters", None))
        );
        assert_eq!(
            operation(&Method::GET, "/api/v1/clusters/"),
            Some(("listClusters", None))
        );
        assert_eq!(
            operation(&Method::POST, "/api/v1/clusters/prod/sync"),
            Some(("syncCluster", Some("prod".into())))
        );
        assert_eq!(operation(&Method::PUT, "/api/v1/clusters"), None);
        assert_eq!(
            operation(&Method::GET, "/api/v1/clusters/%632"),
            Some(("getCluster", Some("c2".into()))),
            "parameters are decoded as the router decodes them"
        );
        assert_eq!(
            operation(&Method::GET, "/api/v1/clusters/%FF"),
            Some(("getCluster", None)),
            "a parameter that is not UTF-8 once decoded is no parameter"
        );
        assert_eq!(
            methods_at("/api/v1/clusters"),
            vec![Method::GET, Method::POST]
        );
        assert_eq!(operation(&Method::GET, "/nothing"), None);
    }
}
