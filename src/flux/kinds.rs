//! The catalogue of Flux kinds: API group, kind, plural, served versions and the
//! controller that reconciles each one.

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

/// All Flux API groups, in catalogue order, without duplicates.
pub const FLUX_GROUPS: &[&str] = &[SOURCE, KUSTOMIZE, HELM, NOTIFICATION, IMAGE];

/// Whether `group` is one of the Flux API groups.
pub fn is_flux_group(group: &str) -> bool {
    FLUX_GROUPS.contains(&group)
}

/// The kind with this exact group and kind.
pub fn by_group_kind(group: &str, kind: &str) -> Option<&'static FluxKind> {
    FLUX_KINDS
        .iter()
        .find(|k| k.group == group && k.kind == kind)
}

/// The kind with this kind name, compared case-insensitively (`helmrelease`, `HelmRelease`).
pub fn by_kind(kind: &str) -> Option<&'static FluxKind> {
    FLUX_KINDS
        .iter()
        .find(|k| k.kind.eq_ignore_ascii_case(kind))
}

/// The kind with this plural resource name (`kustomizations`), case-insensitively.
pub fn by_plural(plural: &str) -> Option<&'static FluxKind> {
    FLUX_KINDS
        .iter()
        .find(|k| k.plural.eq_ignore_ascii_case(plural))
}

/// The kind with this short name (`ks`, `hr`, `gitrepo`), case-insensitively.
pub fn by_short(short: &str) -> Option<&'static FluxKind> {
    FLUX_KINDS
        .iter()
        .find(|k| k.short.eq_ignore_ascii_case(short))
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
