//! The catalogue of Flux kinds: API group, kind, plural, served versions and the
//! controller that reconciles each one.
//!
//! Two parts. The **known** kinds ([`FLUX_KINDS`]) carry what we know about them beyond their
//! CRD: short names users type, which are sources, which are static, which gained
//! `spec.suspend` when. Every other kind a cluster serves in a Flux API group — Flux
//! Operator's `fluxcd.controlplane.io`, `ExternalArtifact`, `ArtifactGenerator`, a kind a later
//! Flux release adds — is **discovered** ([`register`]): added to the catalogue the first time
//! discovery (or a stored object) shows it, watched like the others, and judged by the generic
//! Ready/Stalled/Reconciling rules. A discovered kind is leaked once (`&'static`, like the known
//! ones): the set is bounded by the CRDs installed in the fleet.

use std::sync::RwLock;

/// One Flux custom resource kind, as its CRD declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FluxKind {
    /// API group, e.g. `kustomize.toolkit.fluxcd.io`.
    pub group: &'static str,
    /// Kind, e.g. `Kustomization`.
    pub kind: &'static str,
    /// Plural resource name used in API paths, e.g. `kustomizations`.
    pub plural: &'static str,
    /// Whether objects live in a namespace (every Flux kind does).
    pub namespaced: bool,
    /// The controller that reconciles the kind, e.g. `kustomize-controller`.
    pub controller: &'static str,
    /// API versions Flux releases have served, newest (preferred) first.
    pub versions: &'static [&'static str],
    /// Short name known to `flux`/`kubectl` users, e.g. `ks`, `hr`, `gitrepo`.
    pub short: &'static str,
    /// Whether `spec.suspend` exists, so suspend/resume apply. True for every kind at its
    /// newest version; ImagePolicy only gained it in v1 (v1beta2 silently prunes it).
    pub suspendable: bool,
    /// Whether the kind is static in current Flux: no reconciler status, so a
    /// reconcile request is never handled (notification `Alert`/`Provider` v1beta3).
    pub static_kind: bool,
    /// Whether the kind produces artifacts for other objects (a source).
    pub source: bool,
    /// Whether the plural and scope were read from a cluster's discovery. False only for a
    /// kind learnt from a stored object ([`learn`]), whose plural is a guess until discovery
    /// confirms it.
    pub verified: bool,
}

const SOURCE: &str = "source.toolkit.fluxcd.io";
const KUSTOMIZE: &str = "kustomize.toolkit.fluxcd.io";
const HELM: &str = "helm.toolkit.fluxcd.io";
const NOTIFICATION: &str = "notification.toolkit.fluxcd.io";
const IMAGE: &str = "image.toolkit.fluxcd.io";

const SOURCE_CTL: &str = "source-controller";
const NOTIFICATION_CTL: &str = "notification-controller";
const REFLECTOR_CTL: &str = "image-reflector-controller";

const V1_BETAS: &[&str] = &["v1", "v1beta2", "v1beta1"];
const SOURCE_VERSIONS: &[&str] = V1_BETAS;
const NOTIFICATION_STATIC: &[&str] = &["v1beta3", "v1beta2", "v1beta1"];

/// Builds a catalogue row; the flags default to a reconciled, suspendable, non-source kind.
const fn row(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    controller: &'static str,
    versions: &'static [&'static str],
    short: &'static str,
) -> FluxKind {
    FluxKind {
        group,
        kind,
        plural,
        namespaced: true,
        controller,
        versions,
        short,
        suspendable: true,
        static_kind: false,
        source: false,
        verified: true,
    }
}

/// Marks a row as a source kind.
const fn source(kind: FluxKind) -> FluxKind {
    FluxKind {
        source: true,
        ..kind
    }
}

/// Marks a row as a static kind.
const fn static_kind(kind: FluxKind) -> FluxKind {
    FluxKind {
        static_kind: true,
        ..kind
    }
}

/// Every Flux kind the orchestrator watches, sources first.
#[rustfmt::skip]
pub const FLUX_KINDS: &[FluxKind] = &[
    source(row(SOURCE, "GitRepository", "gitrepositories", SOURCE_CTL, SOURCE_VERSIONS, "gitrepo")),
    source(row(SOURCE, "HelmRepository", "helmrepositories", SOURCE_CTL, SOURCE_VERSIONS, "helmrepo")),
    source(row(SOURCE, "HelmChart", "helmcharts", SOURCE_CTL, SOURCE_VERSIONS, "hc")),
    source(row(SOURCE, "OCIRepository", "ocirepositories", SOURCE_CTL, &["v1", "v1beta2"], "ocirepo")),
    source(row(SOURCE, "Bucket", "buckets", SOURCE_CTL, SOURCE_VERSIONS, "bucket")),
    row(KUSTOMIZE, "Kustomization", "kustomizations", "kustomize-controller", V1_BETAS, "ks"),
    row(HELM, "HelmRelease", "helmreleases", "helm-controller", &["v2", "v2beta2", "v2beta1"], "hr"),
    static_kind(row(NOTIFICATION, "Alert", "alerts", NOTIFICATION_CTL, NOTIFICATION_STATIC, "alert")),
    static_kind(row(NOTIFICATION, "Provider", "providers", NOTIFICATION_CTL, NOTIFICATION_STATIC, "provider")),
    row(NOTIFICATION, "Receiver", "receivers", NOTIFICATION_CTL, V1_BETAS, "receiver"),
    row(IMAGE, "ImageRepository", "imagerepositories", REFLECTOR_CTL, V1_BETAS, "imgrepo"),
    row(IMAGE, "ImagePolicy", "imagepolicies", REFLECTOR_CTL, V1_BETAS, "imgpol"),
    row(IMAGE, "ImageUpdateAutomation", "imageupdateautomations", "image-automation-controller", V1_BETAS, "iua"),
];

/// The Flux API groups of the known kinds, in catalogue order, without duplicates.
pub const FLUX_GROUPS: &[&str] = &[SOURCE, KUSTOMIZE, HELM, NOTIFICATION, IMAGE];

/// Flux Operator's group (FluxInstance, FluxReport, ResourceSet, ResourceSetInputProvider).
pub const OPERATOR_GROUP: &str = "fluxcd.controlplane.io";

/// Whether `group` is a Flux API group: a toolkit group (`*.toolkit.fluxcd.io`), an extension
/// group (`*.extensions.fluxcd.io`, e.g. source-watcher's ArtifactGenerator) or Flux
/// Operator's.
pub fn is_flux_group(group: &str) -> bool {
    group.ends_with(".toolkit.fluxcd.io")
        || group.ends_with(".extensions.fluxcd.io")
        || group == OPERATOR_GROUP
}

/// Kinds discovered on clusters beyond the known ones.
static DISCOVERED: RwLock<Vec<&'static FluxKind>> = RwLock::new(Vec::new());

/// A kind a cluster serves in a Flux group, as its discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// The version the cluster prefers.
    pub version: String,
    /// The first of the CRD's short names, if it has any.
    pub short: Option<String>,
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// The catalogue entry for a kind a cluster serves: the known kind, the already discovered
/// one, or a new entry. A kind first learnt from a stored object is replaced by what
/// discovery says (its plural was a guess).
pub fn register(served: &Served) -> &'static FluxKind {
    if let Some(known) = FLUX_KINDS
        .iter()
        .find(|k| k.group == served.group && k.kind == served.kind)
    {
        return known;
    }
    let found = by_group_kind(&served.group, &served.kind).filter(|k| k.verified);
    found.unwrap_or_else(|| insert(served, true))
}

/// The catalogue entry for a stored object's kind that this replica has not discovered (the
/// cluster is watched by another replica): its plural guessed the way English plurals of
/// kinds go, unverified until discovery confirms it. `None` outside the Flux groups.
pub fn learn(group: &str, version: &str, kind: &str) -> Option<&'static FluxKind> {
    if let Some(known) = by_group_kind(group, kind) {
        return Some(known);
    }
    if !is_flux_group(group) || kind.is_empty() {
        return None;
    }
    let guess = Served {
        group: group.to_string(),
        kind: kind.to_string(),
        plural: guess_plural(kind),
        namespaced: true,
        version: version.to_string(),
        short: None,
    };
    Some(insert(&guess, false))
}

/// Add (or replace) a discovered kind.
fn insert(served: &Served, verified: bool) -> &'static FluxKind {
    let short = served.short.clone();
    let kind: &'static FluxKind = Box::leak(Box::new(FluxKind {
        group: leak(served.group.clone()),
        kind: leak(served.kind.clone()),
        plural: leak(served.plural.clone()),
        namespaced: served.namespaced,
        controller: "",
        versions: Box::leak(vec![leak(served.version.clone())].into_boxed_slice()),
        short: leak(short.unwrap_or_else(|| served.kind.to_lowercase())),
        // Only the known kinds are known to have `spec.suspend` at every served version.
        suspendable: false,
        static_kind: false,
        source: false,
        verified,
    }));
    let mut discovered = DISCOVERED.write().unwrap_or_else(|e| e.into_inner());
    if let Some(raced) = discovered
        .iter()
        .find(|k| k.group == kind.group && k.kind == kind.kind && (k.verified || !verified))
    {
        return raced;
    }
    discovered.retain(|k| !(k.group == kind.group && k.kind == kind.kind));
    discovered.push(kind);
    kind
}

/// `ResourceSetInputProvider` → `resourcesetinputproviders`, `Policy` → `policies`.
fn guess_plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if let Some(stem) = lower
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'o', 'u']))
    {
        format!("{stem}ies")
    } else if lower.ends_with('s') || lower.ends_with('x') || lower.ends_with("ch") {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// Every kind in the catalogue: the known ones, then those discovered so far.
pub fn all() -> Vec<&'static FluxKind> {
    let discovered = DISCOVERED.read().unwrap_or_else(|e| e.into_inner());
    FLUX_KINDS
        .iter()
        .chain(discovered.iter().copied())
        .collect()
}

/// The first kind of the catalogue that `pred` accepts (the ingest path asks for every object:
/// no allocation).
fn find(pred: impl Fn(&FluxKind) -> bool) -> Option<&'static FluxKind> {
    if let Some(known) = FLUX_KINDS.iter().find(|k| pred(k)) {
        return Some(known);
    }
    let discovered = DISCOVERED.read().unwrap_or_else(|e| e.into_inner());
    discovered.iter().copied().find(|k| pred(k))
}

/// The kind with this exact group and kind.
pub fn by_group_kind(group: &str, kind: &str) -> Option<&'static FluxKind> {
    find(|k| k.group == group && k.kind == kind)
}

/// The kind with this kind name, compared case-insensitively (`helmrelease`, `HelmRelease`).
pub fn by_kind(kind: &str) -> Option<&'static FluxKind> {
    find(|k| k.kind.eq_ignore_ascii_case(kind))
}

/// The kind with this plural resource name (`kustomizations`), case-insensitively.
pub fn by_plural(plural: &str) -> Option<&'static FluxKind> {
    find(|k| k.plural.eq_ignore_ascii_case(plural))
}

/// The kind with this short name (`ks`, `hr`, `gitrepo`), case-insensitively.
pub fn by_short(short: &str) -> Option<&'static FluxKind> {
    find(|k| k.short.eq_ignore_ascii_case(short))
}

/// Resolves what a user typed: a kind, plural or short name, e.g. for a URL or CLI argument.
pub fn lookup(name: &str) -> Option<&'static FluxKind> {
    by_kind(name)
        .or_else(|| by_plural(name))
        .or_else(|| by_short(name))
}

/// The kind of an object from its `apiVersion` (`group/version`) and `kind`.
pub fn by_api_version_kind(api_version: &str, kind: &str) -> Option<&'static FluxKind> {
    by_group_kind(group_of(api_version), kind)
}

/// The group part of an `apiVersion`: `""` for the core group (`v1`).
pub fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(group, _)| group)
}

/// The version part of an `apiVersion` (`v1` for both `v1` and `apps/v1`).
pub fn version_of(api_version: &str) -> &str {
    api_version
        .split_once('/')
        .map_or(api_version, |(_, version)| version)
}

/// Chooses the version to watch among those a cluster serves: the newest version
/// this catalogue knows, else the server's preferred one (the first of `served`).
pub fn pick_version<'a>(kind: &FluxKind, served: &[&'a str]) -> Option<&'a str> {
    kind.versions
        .iter()
        .find_map(|known| served.iter().find(|s| *s == known).copied())
        .or_else(|| served.first().copied())
}

impl FluxKind {
    /// Whether this is one of the known kinds ([`FLUX_KINDS`]), not a discovered one.
    pub fn is_known(&self) -> bool {
        FLUX_KINDS
            .iter()
            .any(|k| k.group == self.group && k.kind == self.kind)
    }

    /// `group/version` for the given version, e.g. `helm.toolkit.fluxcd.io/v2`.
    pub fn api_version(&self, version: &str) -> String {
        format!("{}/{}", self.group, version)
    }

    /// The newest version Flux serves for this kind.
    pub fn latest_version(&self) -> &'static str {
        // Every catalogue row lists at least one version (checked by a test).
        self.versions.first().copied().unwrap_or("v1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_lists_the_thirteen_flux_kinds_once_each() {
        assert_eq!(FLUX_KINDS.len(), 13);
        for k in FLUX_KINDS {
            assert_eq!(FLUX_KINDS.iter().filter(|o| o.kind == k.kind).count(), 1);
            assert_eq!(FLUX_KINDS.iter().filter(|o| o.short == k.short).count(), 1);
            assert!(!k.versions.is_empty(), "{} has no versions", k.kind);
            assert!(is_flux_group(k.group));
        }
    }

    #[test]
    fn kinds_are_found_by_group_kind_name_plural_and_short_name() {
        let hr = by_group_kind("helm.toolkit.fluxcd.io", "HelmRelease").map(|k| k.kind);
        assert_eq!(hr, Some("HelmRelease"));
        assert_eq!(
            by_kind("helmrelease").map(|k| k.plural),
            Some("helmreleases")
        );
        assert_eq!(by_plural("Kustomizations").map(|k| k.short), Some("ks"));
        assert_eq!(lookup("gitrepo").map(|k| k.kind), Some("GitRepository"));
        assert_eq!(
            lookup("ocirepositories").map(|k| k.kind),
            Some("OCIRepository")
        );
        assert!(by_group_kind("apps", "Deployment").is_none());
        assert!(by_group_kind("helm.toolkit.fluxcd.io", "Kustomization").is_none());
    }

    fn served(group: &str, kind: &str, plural: &str) -> Served {
        Served {
            group: group.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced: true,
            version: "v1".into(),
            short: None,
        }
    }

    #[test]
    fn a_kind_discovered_in_a_flux_group_joins_the_catalogue_once() {
        assert!(is_flux_group("fluxcd.controlplane.io"));
        assert!(is_flux_group("source.extensions.fluxcd.io"));
        assert!(is_flux_group("future.toolkit.fluxcd.io"));
        assert!(!is_flux_group("apps") && !is_flux_group("fluxcd.io.example.com"));
        let instance = register(&served(OPERATOR_GROUP, "TestInstance", "testinstances"));
        let again = register(&served(OPERATOR_GROUP, "TestInstance", "testinstances"));
        assert!(std::ptr::eq(instance, again));
        assert_eq!(
            lookup("testinstances").map(|k| k.kind),
            Some("TestInstance")
        );
        assert_eq!(
            lookup("testinstance").map(|k| k.group),
            Some(OPERATOR_GROUP)
        );
        assert!(!instance.suspendable && instance.verified);
        // A known kind stays the known entry.
        let ks = register(&served(KUSTOMIZE, "Kustomization", "kustomizations"));
        assert_eq!(ks.short, "ks");
    }

    #[test]
    fn a_kind_learnt_from_a_stored_object_is_guessed_until_discovered() {
        let learnt = learn(OPERATOR_GROUP, "v1", "TestInputProvider").expect("flux group");
        assert_eq!(
            (learnt.plural, learnt.verified),
            ("testinputproviders", false)
        );
        assert!(learn("apps", "v1", "Deployment").is_none());
        let confirmed = register(&served(OPERATOR_GROUP, "TestInputProvider", "tips"));
        assert!(confirmed.verified);
        assert_eq!(by_kind("TestInputProvider").map(|k| k.plural), Some("tips"));
        assert_eq!(guess_plural("ImagePolicy"), "imagepolicies");
        assert_eq!(guess_plural("Gateway"), "gateways");
        assert_eq!(guess_plural("Status"), "statuses");
    }

    #[test]
    fn api_version_splits_into_group_and_version() {
        assert_eq!(
            group_of("source.toolkit.fluxcd.io/v1"),
            "source.toolkit.fluxcd.io"
        );
        assert_eq!(group_of("v1"), "");
        assert_eq!(version_of("v1"), "v1");
        assert_eq!(version_of("image.toolkit.fluxcd.io/v1beta2"), "v1beta2");
        let ks = by_api_version_kind("kustomize.toolkit.fluxcd.io/v1", "Kustomization");
        assert_eq!(ks.map(|k| k.controller), Some("kustomize-controller"));
    }

    #[test]
    fn pick_version_prefers_the_newest_known_served_version() {
        let hr = by_kind("HelmRelease").expect("catalogued");
        assert_eq!(pick_version(hr, &["v2beta1", "v2beta2", "v2"]), Some("v2"));
        assert_eq!(pick_version(hr, &["v2beta1", "v2beta2"]), Some("v2beta2"));
        let alert = by_kind("Alert").expect("catalogued");
        assert_eq!(
            pick_version(alert, &["v1beta2", "v1beta3"]),
            Some("v1beta3")
        );
    }

    #[test]
    fn pick_version_falls_back_to_the_servers_preferred_unknown_version() {
        let ks = by_kind("Kustomization").expect("catalogued");
        assert_eq!(
            pick_version(ks, &["v2alpha1", "v1alpha9"]),
            Some("v2alpha1")
        );
        assert_eq!(pick_version(ks, &[]), None);
    }

    #[test]
    fn static_notification_kinds_are_alert_and_provider_only() {
        let statics: Vec<_> = FLUX_KINDS
            .iter()
            .filter(|k| k.static_kind)
            .map(|k| k.kind)
            .collect();
        assert_eq!(statics, ["Alert", "Provider"]);
        let sources = FLUX_KINDS.iter().filter(|k| k.source).count();
        assert_eq!(sources, 5);
    }
}
