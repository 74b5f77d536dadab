use serde_json::json;

use super::*;
use crate::flux::testdata::fixture;

const SOURCE: &str = "source.toolkit.fluxcd.io";
const KUSTOMIZE: &str = "kustomize.toolkit.fluxcd.io";
const HELM: &str = "helm.toolkit.fluxcd.io";

fn edge(edge_type: EdgeType, group: &str, kind: &str, namespace: &str, name: &str) -> Edge {
    Edge {
        edge_type,
        target: AppliedRef {
            namespace: namespace.into(),
            name: name.into(),
            group: group.into(),
            kind: kind.into(),
        },
    }
}

fn sorted(mut edges: Vec<Edge>) -> Vec<Edge> {
    edges.sort();
    edges
}

#[test]
fn a_kustomization_points_from_its_source_to_itself_and_to_what_it_applied() {
    let got = edges(&fixture("kustomization-ready"));
    let want = sorted(vec![
        edge(
            EdgeType::Source,
            SOURCE,
            "GitRepository",
            "flux-system",
            "flux-system",
        ),
        edge(EdgeType::Inventory, "", "Namespace", "", "flux-system"),
        edge(
            EdgeType::Inventory,
            SOURCE,
            "GitRepository",
            "flux-system",
            "flux-system",
        ),
    ]);
    // The bootstrap Kustomization lists itself in its inventory: no edge to itself.
    assert_eq!(got, want);
    assert!(
        got.iter()
            .all(|e| e.outgoing() == (e.edge_type == EdgeType::Inventory))
    );
}

#[test]
fn depends_on_defaults_to_the_declaring_namespace_and_kind() {
    let got = edges(&fixture("kustomization-dependency-not-ready"));
    let deps: Vec<&Edge> = got
        .iter()
        .filter(|e| e.edge_type == EdgeType::DependsOn)
        .collect();
    assert_eq!(
        deps,
        [
            &edge(
                EdgeType::DependsOn,
                KUSTOMIZE,
                "Kustomization",
                "flux-system",
                "infra-controllers"
            ),
            &edge(
                EdgeType::DependsOn,
                KUSTOMIZE,
                "Kustomization",
                "monitoring",
                "kube-prometheus-stack"
            ),
        ]
    );
}

#[test]
fn a_helm_release_has_its_chart_source_and_the_helm_chart_made_for_it() {
    let got = edges(&fixture("helmrelease-ready"));
    assert_eq!(
        got,
        sorted(vec![
            edge(
                EdgeType::Source,
                SOURCE,
                "HelmRepository",
                "flux-system",
                "podinfo"
            ),
            edge(
                EdgeType::Chart,
                SOURCE,
                "HelmChart",
                "flux-system",
                "apps-podinfo"
            ),
            edge(EdgeType::DependsOn, HELM, "HelmRelease", "apps", "redis"),
            edge(
                EdgeType::DependsOn,
                HELM,
                "HelmRelease",
                "cert-manager",
                "cert-manager"
            ),
        ])
    );
    let oci = edges(&fixture("helmrelease-oci-chartref"));
    assert_eq!(
        oci,
        [edge(
            EdgeType::Source,
            SOURCE,
            "OCIRepository",
            "apps",
            "podinfo-chart"
        )]
    );
}

#[test]
fn helm_charts_and_image_objects_point_at_their_sources() {
    assert_eq!(
        edges(&fixture("helmchart-ready")),
        [edge(
            EdgeType::Source,
            SOURCE,
            "HelmRepository",
            "flux-system",
            "podinfo"
        )]
    );
    let image = "image.toolkit.fluxcd.io";
    assert_eq!(
        edges(&fixture("imagepolicy-v1-ready")),
        [edge(
            EdgeType::ImageRepository,
            image,
            "ImageRepository",
            "flux-system",
            "podinfo"
        )]
    );
    assert_eq!(
        edges(&fixture("imageupdateautomation-ready")),
        [edge(
            EdgeType::Source,
            SOURCE,
            "GitRepository",
            "flux-system",
            "flux-system"
        )]
    );
    assert!(edges(&fixture("gitrepository-ready")).is_empty());
}

#[test]
fn alerts_and_receivers_skip_wildcards_and_keep_named_objects() {
    let notification = "notification.toolkit.fluxcd.io";
    // Both event sources of the fixture are `*`: only the provider is an object.
    assert_eq!(
        edges(&fixture("alert-v1beta3")),
        [edge(
            EdgeType::Provider,
            notification,
            "Provider",
            "flux-system",
            "slack"
        )]
    );
    let alert = json!({
        "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
        "metadata": {"name": "a", "namespace": "apps"},
        "spec": {"providerRef": {"name": "p"}, "eventSources": [
            {"kind": "Kustomization", "name": "web"},
            {"kind": "HelmRelease", "name": "api", "namespace": "*"},
            {"kind": "GitRepository", "matchLabels": {"team": "a"}}
        ]}
    });
    assert_eq!(
        edges(&alert),
        [
            edge(EdgeType::Provider, notification, "Provider", "apps", "p"),
            edge(
                EdgeType::EventSource,
                KUSTOMIZE,
                "Kustomization",
                "apps",
                "web"
            ),
        ]
    );
    let receiver = edges(&fixture("receiver-ready"));
    assert_eq!(
        receiver,
        [edge(
            EdgeType::Receiver,
            SOURCE,
            "GitRepository",
            "flux-system",
            "flux-system"
        )]
    );
    assert!(receiver[0].outgoing());
}

#[test]
fn malformed_references_declare_nothing() {
    let ks = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "k", "namespace": "n"},
        "spec": {"sourceRef": {"kind": "GitRepository"}, "dependsOn": [{"namespace": "x"}, "text"]},
        "status": {"inventory": {"entries": [{"id": "bad"}]}}
    });
    assert!(edges(&ks).is_empty());
    let hr = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "h", "namespace": "n"},
        "status": {"helmChart": "no-slash"}
    });
    assert!(edges(&hr).is_empty());
    assert!(edges(&json!({"kind": 3})).is_empty());
}

#[test]
fn sources_are_identified_by_where_they_fetch_from() {
    assert_eq!(
        source_identity(&fixture("gitrepository-ready")).as_deref(),
        Some("GitRepository|ssh://git@github.com/acme/fleet-infra|branch=main")
    );
    let git = |url: &str, reference: Value| {
        source_identity(&json!({"kind": "GitRepository", "spec": {"url": url, "ref": reference}}))
    };
    assert_eq!(
        git("https://h/a.git/", json!({"tag": "v1", "branch": "x"})),
        git("https://h/a", json!({"branch": "x", "tag": "v1"})),
        "a trailing .git or / and the ref's field order do not matter"
    );
    assert_ne!(
        git("https://h/a", json!({"branch": "main"})),
        git("https://h/a", json!({"branch": "dev"}))
    );
    assert_eq!(
        source_identity(&json!({"kind": "HelmRepository", "spec": {"url": "https://charts/x/"}}))
            .as_deref(),
        Some("HelmRepository|https://charts/x")
    );
    assert_eq!(
        source_identity(
            &json!({"kind": "Bucket", "spec": {"endpoint": "minio:9000", "bucketName": "b"}})
        )
        .as_deref(),
        Some("Bucket|minio:9000|b|")
    );
    assert!(
        source_identity(&fixture("ocirepository-ready"))
            .is_some_and(|s| s.starts_with("OCIRepository|oci://"))
    );
    assert_eq!(source_identity(&fixture("kustomization-ready")), None);
    assert_eq!(
        source_identity(&json!({"kind": "GitRepository", "spec": {}})),
        None
    );
}
