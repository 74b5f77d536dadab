//! References between Flux objects: the source an object consumes and the objects it
//! depends on. Namespaces left out in the spec default to the object's own, as the
//! controllers resolve them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conditions::{non_empty, str_at};

/// The object an object takes its input from (`spec.sourceRef` and friends).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    /// `apiVersion` when the reference pins one (rare; usually omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referenced object, e.g. `GitRepository`.
    pub kind: String,
    /// Namespace, defaulted to the referring object's.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// A dependency (`spec.dependsOn[]`): an object of the same kind that must be ready first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Namespace, defaulted to the referring object's.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// The object's source, by kind:
/// - Kustomization, HelmChart, ImageUpdateAutomation: `spec.sourceRef`;
/// - HelmRelease: `spec.chartRef` (OCIRepository/HelmChart), else the chart template's
///   `spec.chart.spec.sourceRef` (HelmRepository/GitRepository/Bucket), as
///   `flux get hr --show-source` shows it;
/// - ImagePolicy: `spec.imageRepositoryRef` (an ImageRepository);
/// - Alert: `spec.providerRef` (a Provider);
/// - other kinds: none.
pub fn source_ref(obj: &Value) -> Option<SourceRef> {
    let spec = obj.get("spec")?;
    let kind = obj.get("kind").and_then(Value::as_str)?;
    let (reference, default_kind) = match kind {
        "Kustomization" | "HelmChart" => (spec.get("sourceRef")?, None),
        "ImageUpdateAutomation" => (spec.get("sourceRef")?, Some("GitRepository")),
        "HelmRelease" => (
            spec.get("chartRef")
                .or_else(|| spec.pointer("/chart/spec/sourceRef"))?,
            None,
        ),
        "ImagePolicy" => (spec.get("imageRepositoryRef")?, Some("ImageRepository")),
        "Alert" => (spec.get("providerRef")?, Some("Provider")),
        _ => return None,
    };
    let own_namespace = str_at(obj, "/metadata/namespace").unwrap_or_default();
    let kind = non_empty(reference.get("kind")).or(default_kind.map(str::to_owned))?;
    Some(SourceRef {
        api_version: non_empty(reference.get("apiVersion")),
        kind,
        namespace: non_empty(reference.get("namespace")).unwrap_or(own_namespace),
        name: non_empty(reference.get("name"))?,
    })
}

/// The object's `spec.dependsOn` (Kustomization, HelmRelease), namespaces defaulted.
/// Entries without a name are skipped.
pub fn depends_on(obj: &Value) -> Vec<ObjectRef> {
    let own_namespace = str_at(obj, "/metadata/namespace").unwrap_or_default();
    let Some(list) = obj.pointer("/spec/dependsOn").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|dep| {
            Some(ObjectRef {
                name: non_empty(dep.get("name"))?,
                namespace: non_empty(dep.get("namespace")).unwrap_or_else(|| own_namespace.clone()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::testdata::fixture;
    use serde_json::json;

    fn src(kind: &str, namespace: &str, name: &str) -> Option<SourceRef> {
        Some(SourceRef {
            api_version: None,
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        })
    }

    #[test]
    fn kustomization_source_ref_defaults_to_its_own_namespace() {
        let ks = fixture("kustomization-ready");
        assert_eq!(
            source_ref(&ks),
            src("GitRepository", "flux-system", "flux-system")
        );
    }

    #[test]
    fn helmrelease_chart_template_source_ref_keeps_its_explicit_namespace() {
        let hr = fixture("helmrelease-ready");
        assert_eq!(
            source_ref(&hr),
            src("HelmRepository", "flux-system", "podinfo")
        );
    }

    #[test]
    fn helmrelease_chart_ref_wins_over_a_chart_template() {
        let hr = fixture("helmrelease-oci-chartref");
        assert_eq!(
            source_ref(&hr),
            src("OCIRepository", "apps", "podinfo-chart")
        );
    }

    #[test]
    fn image_policy_and_update_automation_refs_get_default_kinds() {
        let policy = fixture("imagepolicy-v1-ready");
        assert_eq!(
            source_ref(&policy),
            src("ImageRepository", "flux-system", "podinfo")
        );
        let auto = fixture("imageupdateautomation-ready");
        assert_eq!(
            source_ref(&auto),
            src("GitRepository", "flux-system", "flux-system")
        );
    }

    #[test]
    fn alert_points_at_its_provider_and_sources_point_nowhere() {
        let alert = fixture("alert-v1beta3");
        assert_eq!(source_ref(&alert), src("Provider", "flux-system", "slack"));
        assert_eq!(source_ref(&fixture("gitrepository-ready")), None);
    }

    #[test]
    fn depends_on_defaults_namespaces_and_skips_nameless_entries() {
        let ks = fixture("kustomization-dependency-not-ready");
        let deps = depends_on(&ks);
        assert_eq!(
            deps,
            vec![
                ObjectRef {
                    namespace: "flux-system".into(),
                    name: "infra-controllers".into()
                },
                ObjectRef {
                    namespace: "monitoring".into(),
                    name: "kube-prometheus-stack".into()
                },
            ]
        );
        let odd =
            json!({"metadata": {"namespace": "a"}, "spec": {"dependsOn": [{"namespace": "b"}]}});
        assert!(depends_on(&odd).is_empty());
        assert!(depends_on(&fixture("gitrepository-ready")).is_empty());
    }

    #[test]
    fn source_ref_serialises_in_camel_case_without_empty_api_version() {
        let value = serde_json::to_value(src("GitRepository", "ns", "repo")).expect("json");
        assert_eq!(
            value,
            json!({"kind": "GitRepository", "namespace": "ns", "name": "repo"})
        );
    }
}
