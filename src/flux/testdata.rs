//! Fixtures for tests: Flux objects and events as the controllers write them
//! (`fixtures/*.yaml`), compiled in with `include_str!`.

use serde_json::Value;

macro_rules! fixtures {
    ($($name:literal),* $(,)?) => {
        /// Every fixture: (name, YAML text).
        pub(crate) const FIXTURES: &[(&str, &str)] =
            &[$(($name, include_str!(concat!("fixtures/", $name, ".yaml")))),*];
    };
}

fixtures![
    "alert-v1beta2-ready",
    "alert-v1beta3",
    "bucket-ready",
    "bucket-suspended",
    "event-core-v1-kustomization",
    "event-core-v1-pod",
    "event-events-k8s-io-helmrelease",
    "gitrepository-auth-failed",
    "gitrepository-ready",
    "gitrepository-reconciling",
    "helmchart-pull-failed",
    "helmchart-ready",
    "helmrelease-artifact-failed",
    "helmrelease-install-failed",
    "helmrelease-oci-chartref",
    "helmrelease-ready",
    "helmrelease-ready-forced",
    "helmrelease-ready-suspended",
    "helmrelease-suspended",
    "helmrelease-upgrade-stalled",
    "helmrepository-oci-static",
    "helmrepository-ready",
    "imagepolicy-v1-ready",
    "imagepolicy-v1beta2-ready",
    "imagerepository-auth-failed",
    "imagerepository-ready",
    "imageupdateautomation-ready",
    "kustomization-build-failed",
    "kustomization-dependency-not-ready",
    "kustomization-first-reconcile",
    "kustomization-health-check-failed",
    "kustomization-new-generation",
    "kustomization-progressing",
    "kustomization-ready",
    "kustomization-ready-next",
    "ocirepository-ready",
    "ocirepository-stalled",
    "provider-v1beta3",
    "receiver-ready",
];

/// The fixture with this name (file name without `.yaml`), parsed.
pub(crate) fn fixture(name: &str) -> Value {
    let (_, text) = FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fixture named {name}"));
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Every fixture that is a Flux object (not an event), parsed.
pub(crate) fn flux_objects() -> Vec<(&'static str, Value)> {
    FIXTURES
        .iter()
        .filter(|(name, _)| !name.starts_with("event-"))
        .map(|(name, _)| (*name, fixture(name)))
        .collect()
}
