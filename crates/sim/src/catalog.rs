//! The kinds a simulated cluster serves, per [`FluxFlavor`]: group, served versions, plural,
//! scope. Discovery, routing and the object store all index by [`TypeId`] into one [`Catalog`].
//! Core Namespace and Event come first, then the Flux kinds, then the workload kinds Flux
//! applies (`workloads.rs`), which every flavor serves.

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
    /// Flux 2.9 installed by Flux Operator, with source-watcher: also serves FluxInstance,
    /// FluxReport, ResourceSet, ResourceSetInputProvider (`fluxcd.controlplane.io/v1`),
    /// ExternalArtifact (`source.toolkit.fluxcd.io/v1`) and ArtifactGenerator
    /// (`source.extensions.fluxcd.io/v1beta1`): kinds a consumer finds by discovery only.
    Operator,
}

impl std::str::FromStr for FluxFlavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "flux29" | "2.9" | "current" => Ok(Self::Flux29),
            "legacy" | "2.2" => Ok(Self::Legacy),
            "operator" => Ok(Self::Operator),
            other => Err(format!(
                "unknown flux flavor {other:?} (flux29 | legacy | operator)"
            )),
        }
    }
}

/// Index of a resource type in its cluster's [`Catalog`].
pub type TypeId = usize;

/// What a served type is to the simulator: who writes its status, whether churn touches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// core/v1 Namespace and Event: plumbing.
    Core,
    /// A Flux kind: reconciled by the simulated Flux controllers.
    Flux,
    /// A Kubernetes kind Flux applies (Deployment, Service, ...): rolled out by the simulated
    /// workload controllers (`workloadctl.rs`).
    Workload,
    /// ServiceAccount, Secret, ClusterRole, ClusterRoleBinding: what `cluster add` creates
    /// (`access.rs`); stored, never reconciled.
    Access,
}

/// One served resource type.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// Core plumbing, Flux kind or workload kind.
    pub class: Class,
    /// Whether the apiserver keeps `metadata.generation` (set to 1 on create, bumped when
    /// `spec` changes): Flux kinds and most workloads do; Service and PVC do not.
    pub generation: bool,
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

    /// Whether this is a Flux kind.
    pub fn is_flux(&self) -> bool {
        self.class == Class::Flux
    }

    /// Whether this is a workload kind (Deployment, Service, ...).
    pub fn is_workload(&self) -> bool {
        self.class == Class::Workload
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
    /// Flux Operator's kinds.
    pub const OPERATOR: &str = "fluxcd.controlplane.io";
    /// source-watcher's ArtifactGenerator.
    pub const SOURCE_EXTENSIONS: &str = "source.extensions.fluxcd.io";
}

/// All types a cluster serves, in a fixed order (core first).
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The served types; a [`TypeId`] indexes this.
    pub types: Vec<ResourceType>,
}

/// One Flux kind as the simulator serves it: its names, its controller, and the versions served
/// by each [`FluxFlavor`] (the first is the storage version; none: not served).
struct FluxKindSpec {
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    controller: &'static str,
    /// Flux 2.9.
    current: &'static [&'static str],
    /// Flux 2.2: only GitRepository was promoted to source v1 (OCIRepository did not exist).
    legacy: &'static [&'static str],
}

const SOURCE_CONTROLLER: &str = "source-controller";
const NOTIFICATION_CONTROLLER: &str = "notification-controller";
const IMAGE_REFLECTOR: &str = "image-reflector-controller";

/// Every Flux kind, in the order a cluster serves them.
#[rustfmt::skip]
const FLUX_KINDS: &[FluxKindSpec] = &[
    spec(groups::SOURCE, "GitRepository", "gitrepositories", &["gitrepo"], SOURCE_CONTROLLER, &["v1"], &["v1", "v1beta2"]),
    spec(groups::SOURCE, "HelmRepository", "helmrepositories", &["helmrepo"], SOURCE_CONTROLLER, &["v1"], &["v1beta2"]),
    spec(groups::SOURCE, "HelmChart", "helmcharts", &["hc"], SOURCE_CONTROLLER, &["v1"], &["v1beta2"]),
    spec(groups::SOURCE, "OCIRepository", "ocirepositories", &["ocirepo"], SOURCE_CONTROLLER, &["v1"], &[]),
    spec(groups::SOURCE, "Bucket", "buckets", &[], SOURCE_CONTROLLER, &["v1"], &["v1beta2"]),
    spec(groups::KUSTOMIZE, "Kustomization", "kustomizations", &["ks"], "kustomize-controller", &["v1"], &["v1"]),
    spec(groups::HELM, "HelmRelease", "helmreleases", &["hr"], "helm-controller", &["v2"], &["v2beta2"]),
    spec(groups::NOTIFICATION, "Alert", "alerts", &[], NOTIFICATION_CONTROLLER, &["v1beta3"], &["v1beta3"]),
    spec(groups::NOTIFICATION, "Provider", "providers", &[], NOTIFICATION_CONTROLLER, &["v1beta3"], &["v1beta3"]),
    spec(groups::NOTIFICATION, "Receiver", "receivers", &[], NOTIFICATION_CONTROLLER, &["v1"], &["v1"]),
    spec(groups::IMAGE, "ImageRepository", "imagerepositories", &[], IMAGE_REFLECTOR, &["v1"], &["v1beta2"]),
    spec(groups::IMAGE, "ImagePolicy", "imagepolicies", &[], IMAGE_REFLECTOR, &["v1"], &["v1beta2"]),
    spec(groups::IMAGE, "ImageUpdateAutomation", "imageupdateautomations", &[], "image-automation-controller", &["v1"], &["v1beta2"]),
];

/// The kinds only [`FluxFlavor::Operator`] serves (at `current`; never legacy).
#[rustfmt::skip]
const OPERATOR_KINDS: &[FluxKindSpec] = &[
    spec(groups::SOURCE, "ExternalArtifact", "externalartifacts", &[], "source-watcher", &["v1"], &[]),
    spec(groups::SOURCE_EXTENSIONS, "ArtifactGenerator", "artifactgenerators", &["ag"], "source-watcher", &["v1beta1"], &[]),
    spec(groups::OPERATOR, "FluxInstance", "fluxinstances", &[], "flux-operator", &["v1"], &[]),
    spec(groups::OPERATOR, "FluxReport", "fluxreports", &[], "flux-operator", &["v1"], &[]),
    spec(groups::OPERATOR, "ResourceSet", "resourcesets", &["rset"], "flux-operator", &["v1"], &[]),
    spec(groups::OPERATOR, "ResourceSetInputProvider", "resourcesetinputproviders", &["rsip"], "flux-operator", &["v1"], &[]),
];

/// A row of [`FLUX_KINDS`].
const fn spec(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    controller: &'static str,
    current: &'static [&'static str],
    legacy: &'static [&'static str],
) -> FluxKindSpec {
    FluxKindSpec {
        group,
        kind,
        plural,
        short_names,
        controller,
        current,
        legacy,
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
        ("ExternalArtifact", "externalartifact"),
        ("ArtifactGenerator", "artifactgenerator"),
        ("FluxInstance", "fluxinstance"),
        ("FluxReport", "fluxreport"),
        ("ResourceSet", "resourceset"),
        ("ResourceSetInputProvider", "resourcesetinputprovider"),
    ];
    NAMES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("", |(_, s)| s)
}

/// The Flux types a cluster of `flavor` serves.
fn flux_types(flavor: FluxFlavor) -> Vec<ResourceType> {
    let extra: &[FluxKindSpec] = match flavor {
        FluxFlavor::Operator => OPERATOR_KINDS,
        FluxFlavor::Flux29 | FluxFlavor::Legacy => &[],
    };
    FLUX_KINDS
        .iter()
        .chain(extra)
        .filter_map(|k| {
            let versions = match flavor {
                FluxFlavor::Flux29 | FluxFlavor::Operator => k.current,
                FluxFlavor::Legacy => k.legacy,
            };
            (!versions.is_empty()).then(|| ResourceType {
                class: Class::Flux,
                generation: true,
                group: k.group,
                kind: k.kind,
                plural: k.plural,
                singular: singular(k.kind),
                namespaced: true,
                short_names: k.short_names,
                versions: versions.to_vec(),
                // Alert and Provider v1beta3 carry no status in Flux 2.x.
                has_status: !matches!(k.kind, "Alert" | "Provider"),
                controller: Some(k.controller),
            })
        })
        .collect()
}

impl Catalog {
    /// The catalogue for a flavor.
    pub fn new(flavor: FluxFlavor) -> Self {
        let mut types = vec![
            ResourceType {
                class: Class::Core,
                generation: false,
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
                class: Class::Core,
                generation: false,
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
        types.extend(super::workloads::types());
        types.extend(super::access::types());
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
