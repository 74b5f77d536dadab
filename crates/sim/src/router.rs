//! Request routing: URL path → [`Route`], query string → [`Query`] (tolerating kube's `?&`
//! empty pairs and percent-encoding).

use std::collections::HashMap;

use super::catalog::{Catalog, TypeId};
use super::counts::Verb;

/// What a request addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/livez`, `/readyz`
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    Resources { group: String, version: String },
    /// `/openapi/...` (the path after `/openapi/`)
    OpenApi(String),
    /// A collection, object or subresource of a served type.
    Resource(ResourceRoute),
    /// Anything else.
    Unknown,
}

/// A request for objects of one type.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRoute {
    /// The type.
    pub ty: TypeId,
    /// Version in the URL (may differ from storage for multi-version kinds).
    pub version: String,
    /// Namespace in the URL (`None` for all namespaces or cluster-scoped).
    pub namespace: Option<String>,
    /// Object name (`None` for the collection).
    pub name: Option<String>,
    /// Subresource (`status`).
    pub subresource: Option<String>,
}

impl Route {
    /// Parse a path against the served catalogue.
    pub fn parse(catalog: &Catalog, path: &str) -> Route {
        let segs: Vec<&str> = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match segs.as_slice() {
            ["version"] => Route::Version,
            ["healthz" | "livez" | "readyz", ..] => Route::Health,
            ["openapi", rest @ ..] => Route::OpenApi(rest.join("/")),
            ["api"] => Route::CoreVersions,
            ["apis"] => Route::Groups,
            ["apis", g] => Route::Group(g.to_string()),
            ["api", v] => Route::Resources {
                group: String::new(),
                version: v.to_string(),
            },
            ["apis", g, v] => Route::Resources {
                group: g.to_string(),
                version: v.to_string(),
            },
            ["api", v, rest @ ..] => resource(catalog, "", v, rest),
            ["apis", g, v, rest @ ..] => resource(catalog, g, v, rest),
            _ => Route::Unknown,
        }
    }

    /// Resource plural (for counters), or the discovery path.
    pub fn resource_name<'a>(&self, catalog: &'a Catalog) -> &'a str {
        match self {
            Route::Resource(r) => catalog.types[r.ty].plural,
            _ => "",
        }
    }
}

fn resource(catalog: &Catalog, group: &str, version: &str, rest: &[&str]) -> Route {
    let owned = |s: &&str| Some(s.to_string());
    let (ns, plural, name, sub) = match rest {
        [plural] => (None, *plural, None, None),
        ["namespaces", ns, sub @ ("status" | "finalize")] => {
            (None, "namespaces", owned(ns), owned(sub))
        }
        ["namespaces", ns, plural] => (owned(ns), *plural, None, None),
        ["namespaces", ns, plural, name] => (owned(ns), *plural, owned(name), None),
        ["namespaces", ns, plural, name, sub] => (owned(ns), *plural, owned(name), owned(sub)),
        [plural, name] => (None, *plural, owned(name), None),
        [plural, name, sub] => (None, *plural, owned(name), owned(sub)),
        _ => return Route::Unknown,
    };
    let Some(ty) = catalog.by_path(group, version, plural) else {
        return Route::Unknown;
    };
    let rt = &catalog.types[ty];
    if !rt.namespaced && ns.is_some() {
        return Route::Unknown;
    }
    Route::Resource(ResourceRoute {
        ty,
        version: version.to_string(),
        namespace: ns,
        name,
        subresource: sub,
    })
}

/// Query parameters (last value wins, empty pairs ignored).
#[derive(Debug, Clone, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parse a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let mut m = HashMap::new();
        for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            m.insert(decode(k), decode(v));
        }
        Self(m)
    }

    /// A parameter (empty values count as absent).
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A boolean parameter (`true`/`1`).
    pub fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true" | "1"))
    }
}

/// Percent-decoding with `+` as space (`application/x-www-form-urlencoded`).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Classify a request for counters and authorization messages.
pub fn verb_of(method: &http::Method, route: &Route, query: &Query) -> Verb {
    let Route::Resource(r) = route else {
        return Verb::Discovery;
    };
    match (method.as_str(), r.name.is_some()) {
        ("GET", false) if query.flag("watch") => Verb::Watch,
        ("GET", false) => Verb::List,
        ("GET", true) => Verb::Get,
        ("POST", _) => Verb::Create,
        ("PUT", _) => Verb::Update,
        ("PATCH", _) => Verb::Patch,
        ("DELETE", _) => Verb::Delete,
        _ => Verb::Get,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::FluxFlavor;

    #[test]
    fn kube_style_urls_route_to_types() {
        let c = Catalog::new(FluxFlavor::Flux29);
        let r = Route::parse(
            &c,
            "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/apps/kustomizations/web/status",
        );
        let Route::Resource(r) = r else {
            panic!("not a resource")
        };
        assert_eq!(
            (
                r.namespace.as_deref(),
                r.name.as_deref(),
                r.subresource.as_deref()
            ),
            (Some("apps"), Some("web"), Some("status"))
        );
        assert!(matches!(
            Route::parse(&c, "/api/v1/namespaces/apps"),
            Route::Resource(ResourceRoute { name: Some(_), .. })
        ));
        assert!(matches!(
            Route::parse(&c, "/api/v1/namespaces/apps/events"),
            Route::Resource(ResourceRoute {
                namespace: Some(_),
                name: None,
                ..
            })
        ));
        assert_eq!(
            Route::parse(&c, "/apis/helm.toolkit.fluxcd.io/v2beta2/helmreleases"),
            Route::Unknown
        );
        let q = Query::parse(Some(
            "&watch=true&&labelSelector=a%3Db%2Cc+in+%28x%29&resourceVersion=",
        ));
        assert!(q.flag("watch"));
        assert_eq!(q.get("labelSelector"), Some("a=b,c in (x)"));
        assert_eq!(q.get("resourceVersion"), None);
        assert_eq!(decode("%zz%4"), "%zz%4");
    }
}
