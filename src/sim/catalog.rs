//! The kinds a simulated cluster serves, per [`FluxFlavor`]: group, served versions, plural,
//! scope. Discovery, routing and the object store all index by [`TypeId`] into one [`Catalog`].

use serde::{Deserialize, Serialize};

/// Which Flux release the simulated cluster pretends to run (decides served kinds and versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FluxFlavor {
    /// Flux 2.9: source v1 (incl. OCIRepository, Bucket), kustomize v1, helm v2,
    /// notification v1 + v1beta3, image v1.
    #[default]
    Flux29,
    /// A Flux 2.2-like cluster: only GitRepository at source v1 (other sources at v1beta2,
    /// no OCIRepository), helm v2beta2, image v1beta2.
    Legacy,
}

impl std::str::FromStr for FluxFlavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "flux29" | "2.9" | "current" => Ok(Self::Flux29),
            "legacy" | "2.2" => Ok(Self::Legacy),
            other => Err(format!("unknown flux flavor {other:?} (flux29 | legacy)")),
        }
    }
}

/// Index of a resource type in its cluster's [`Catalog`].
pub type TypeId = usize;

/// One served resource type.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group; empty for core/v1.
    pub group: &'static str,
    /// Kind, e.g. `Kustomization`.
    pub kind: &'static str,
    /// Plural resource name used in URLs.
    pub plural: &'static str,
    /// Singular name (lower-case kind).
    pub singular: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: &'static [&'static str],
    /// Served versions; the first is the storage (and preferred) version.
    pub versions: Vec<&'static str>,
    /// Whether a `/status` subresource is served.
    pub has_status: bool,
    /// Controller that reconciles this kind (`reportingController` of its Events), if any.
    pub controller: Option<&'static str>,
}

impl ResourceType {
    /// Storage version.
    pub fn version(&self) -> &'static str {
        self.versions[0]
    }

    /// `group/version` (or `version` for core) of the storage version.
    pub fn api_version(&self) -> String {
        api_version(self.group, self.version())
    }

    /// Whether this is a Flux kind (anything outside the core group).
    pub fn is_flux(&self) -> bool {
        !self.group.is_empty()
    }
}

/// `group/version`, or bare `version` for the core group.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Flux API group names.
pub mod groups {
    /// source-controller kinds.
    pub const SOURCE: &str = "source.toolkit.fluxcd.io";
    /// kustomize-controller kinds.
    pub const KUSTOMIZE: &str = "kustomize.toolkit.fluxcd.io";
    /// helm-controller kinds.
    pub const HELM: &str = "helm.toolkit.fluxcd.io";
    /// notification-controller kinds.
    pub const NOTIFICATION: &str = "notification.toolkit.fluxcd.io";
    /// image-reflector and image-automation kinds.
    pub const IMAGE: &str = "image.toolkit.fluxcd.io";
}

/// All types a cluster serves, in a fixed order (core first).
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The served types; a [`TypeId`] indexes this.
    pub types: Vec<ResourceType>,
}

fn flux(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    controller: &'static str,
    versions: Vec<&'static str>,
) -> ResourceType {
    ResourceType {
        group,
        kind,
        plural,
        singular: singular(kind),
        namespaced: true,
        short_names,
        versions,
        // Alert and Provider v1beta3 carry no status in Flux 2.x.
        has_status: !matches!(kind, "Alert" | "Provider"),
        controller: Some(controller),
    }
}

fn singular(kind: &'static str) -> &'static str {
    const NAMES: &[(&str, &str)] = &[
        ("GitRepository", "gitrepository"),
        ("HelmRepository", "helmrepository"),
        ("HelmChart", "helmchart"),
        ("OCIRepository", "ocirepository"),
        ("Bucket", "bucket"),
        ("Kustomization", "kustomization"),
        ("HelmRelease", "helmrelease"),
        ("Alert", "alert"),
        ("Provider", "provider"),
        ("Receiver", "receiver"),
        ("ImageRepository", "imagerepository"),
        ("ImagePolicy", "imagepolicy"),
        ("ImageUpdateAutomation", "imageupdateautomation"),
    ];
    NAMES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("", |(_, s)| s)
}

fn flux_types(flavor: FluxFlavor) -> Vec<ResourceType> {
    use groups::*;
    let legacy = flavor == FluxFlavor::Legacy;
    // Legacy: Flux 2.2 promoted only GitRepository to source v1.
    let src_v = if legacy { "v1beta2" } else { "v1" };
    let git_versions = if legacy {
        vec!["v1", "v1beta2"]
    } else {
        vec!["v1"]
    };
    let helm_v = if legacy { "v2beta2" } else { "v2" };
    let image_v = if legacy { "v1beta2" } else { "v1" };
    let (sc, nc) = ("source-controller", "notification-controller");
    let (irc, iac) = ("image-reflector-controller", "image-automation-controller");
    let mut t = vec![
        flux(
            SOURCE,
            "GitRepository",
            "gitrepositories",
            &["gitrepo"],
            sc,
            git_versions,
        ),
        flux(
            SOURCE,
            "HelmRepository",
            "helmrepositories",
            &["helmrepo"],
            sc,
            vec![src_v],
        ),
        flux(SOURCE, "HelmChart", "helmcharts", &["hc"], sc, vec![src_v]),
    ];
    if !legacy {
        t.push(flux(
            SOURCE,
            "OCIRepository",
            "ocirepositories",
            &["ocirepo"],
            sc,
            vec!["v1"],
        ));
    }
    t.push(flux(SOURCE, "Bucket", "buckets", &[], sc, vec![src_v]));
    t.push(flux(
        KUSTOMIZE,
        "Kustomization",
        "kustomizations",
        &["ks"],
        "kustomize-controller",
        vec!["v1"],
    ));
    t.push(flux(
        HELM,
        "HelmRelease",
        "helmreleases",
        &["hr"],
        "helm-controller",
        vec![helm_v],
    ));
    t.push(flux(
        NOTIFICATION,
        "Alert",
        "alerts",
        &[],
        nc,
        vec!["v1beta3"],
    ));
    t.push(flux(
        NOTIFICATION,
        "Provider",
        "providers",
        &[],
        nc,
        vec!["v1beta3"],
    ));
    t.push(flux(
        NOTIFICATION,
        "Receiver",
        "receivers",
        &[],
        nc,
        vec!["v1"],
    ));
    t.push(flux(
        IMAGE,
        "ImageRepository",
        "imagerepositories",
        &[],
        irc,
        vec![image_v],
    ));
    t.push(flux(
        IMAGE,
        "ImagePolicy",
        "imagepolicies",
        &[],
        irc,
        vec![image_v],
    ));
    t.push(flux(
        IMAGE,
        "ImageUpdateAutomation",
        "imageupdateautomations",
        &[],
        iac,
        vec![image_v],
    ));
    t
}

impl Catalog {
    /// The catalogue for a flavor.
    pub fn new(flavor: FluxFlavor) -> Self {
        let mut types = vec![
            ResourceType {
                group: "",
                kind: "Namespace",
                plural: "namespaces",
                singular: "namespace",
                namespaced: false,
                short_names: &["ns"],
                versions: vec!["v1"],
                has_status: true,
                controller: None,
            },
            ResourceType {
                group: "",
                kind: "Event",
                plural: "events",
                singular: "event",
                namespaced: true,
                short_names: &["ev"],
                versions: vec!["v1"],
                has_status: false,
                controller: None,
            },
        ];
        types.extend(flux_types(flavor));
        Self { types }
    }

    /// Type served at `group`/`version` under `plural`.
    pub fn by_path(&self, group: &str, version: &str, plural: &str) -> Option<TypeId> {
        self.types
            .iter()
            .position(|t| t.group == group && t.plural == plural && t.versions.contains(&version))
    }

    /// Type by group and kind (any served version).
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<TypeId> {
        self.types
            .iter()
            .position(|t| t.group == group && t.kind == kind)
    }

    /// Type by kind alone (kinds are unique across the simulated groups).
    pub fn by_kind_name(&self, kind: &str) -> Option<TypeId> {
        self.types.iter().position(|t| t.kind == kind)
    }

    /// Type id of core/v1 Namespace.
    pub fn namespace_type(&self) -> TypeId {
        0
    }

    /// Type id of core/v1 Event.
    pub fn event_type(&self) -> TypeId {
        1
    }

    /// Served API groups (excluding core) with their versions, preferred first.
    pub fn groups(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
        for t in self.types.iter().filter(|t| !t.group.is_empty()) {
            let entry = match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some(e) => e,
                None => {
                    out.push((t.group, Vec::new()));
                    out.last_mut().expect("just pushed")
                }
            };
            for v in &t.versions {
                if !entry.1.contains(v) {
                    entry.1.push(v);
                }
            }
        }
        for (_, versions) in &mut out {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }

    /// Types served at `group`/`version`.
    pub fn types_at(&self, group: &str, version: &str) -> Vec<TypeId> {
        (0..self.types.len())
            .filter(|&i| self.types[i].group == group && self.types[i].versions.contains(&version))
            .collect()
    }
}

/// Kubernetes version priority: GA > beta > alpha, then by number (v2 > v1, v1beta3 > v1beta2).
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let rest = v.trim_start_matches('v');
    let major_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let major: u32 = rest[..major_end].parse().unwrap_or(0);
    let tail = &rest[major_end..];
    let (stage, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (stage, major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferred_version_is_ga_first() {
        let c = Catalog::new(FluxFlavor::Flux29);
        let groups = c.groups();
        let notif = groups
            .iter()
            .find(|(g, _)| *g == groups::NOTIFICATION)
            .unwrap();
        assert_eq!(notif.1, vec!["v1", "v1beta3"]);
        let legacy = Catalog::new(FluxFlavor::Legacy);
        let src = legacy
            .groups()
            .into_iter()
            .find(|(g, _)| *g == groups::SOURCE)
            .unwrap();
        assert_eq!(src.1, vec!["v1", "v1beta2"]);
        assert!(legacy.by_kind(groups::SOURCE, "OCIRepository").is_none());
        assert!(
            legacy
                .by_path(groups::SOURCE, "v1beta2", "gitrepositories")
                .is_some()
        );
    }
}
