//! Flux objects as users write them: metadata and `spec` per kind, with source references and
//! `dependsOn`, plus deterministic revision strings.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::catalog::{FluxFlavor, groups};

/// Where an object points: its source and its dependencies.
#[derive(Debug, Clone, Default)]
pub struct Refs {
    /// `(kind, namespace, name)` of the source (GitRepository for Kustomization, HelmRepository
    /// for HelmRelease/HelmChart, ImageRepository for ImagePolicy...).
    pub source: Option<(String, String, String)>,
    /// `(namespace, name)` of objects of the same kind this one depends on.
    pub depends_on: Vec<(String, String)>,
}

/// `apiVersion` of a Flux kind at its storage version for a flavor.
pub fn api_version(kind: &str, flavor: FluxFlavor) -> String {
    let legacy = flavor == FluxFlavor::Legacy;
    let (g, v) = match kind {
        "GitRepository" => (groups::SOURCE, "v1"),
        "HelmRepository" | "HelmChart" | "Bucket" if legacy => (groups::SOURCE, "v1beta2"),
        "HelmRepository" | "HelmChart" | "Bucket" | "OCIRepository" => (groups::SOURCE, "v1"),
        "Kustomization" => (groups::KUSTOMIZE, "v1"),
        "HelmRelease" if legacy => (groups::HELM, "v2beta2"),
        "HelmRelease" => (groups::HELM, "v2"),
        "Alert" | "Provider" => (groups::NOTIFICATION, "v1beta3"),
        "Receiver" => (groups::NOTIFICATION, "v1"),
        "ExternalArtifact" => (groups::SOURCE, "v1"),
        "ArtifactGenerator" => (groups::SOURCE_EXTENSIONS, "v1beta1"),
        "FluxInstance" | "FluxReport" | "ResourceSet" | "ResourceSetInputProvider" => {
            (groups::OPERATOR, "v1")
        }
        _ if legacy => (groups::IMAGE, "v1beta2"),
        _ => (groups::IMAGE, "v1"),
    };
    format!("{g}/{v}")
}

/// A hex digest of `parts`, `len` characters long (deterministic stand-in for commit SHAs
/// and artifact digests).
pub fn hex_digest(parts: &[&str], len: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let full = hex::encode(h.finalize());
    let mut out = full.clone();
    while out.len() < len {
        out.push_str(&full);
    }
    out.truncate(len);
    out
}

/// The first revision of an object of `kind`.
pub fn initial_revision(kind: &str, ns: &str, name: &str) -> String {
    revision_for(kind, &hex_digest(&[ns, name, "0"], 64), 0)
}

/// The revision after `current`.
pub fn next_revision(kind: &str, current: &str) -> String {
    let n = current
        .rsplit('.')
        .next()
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0);
    revision_for(kind, &hex_digest(&[current], 64), n + 1)
}

fn revision_for(kind: &str, digest: &str, n: u64) -> String {
    match kind {
        "GitRepository" | "Kustomization" | "ImageUpdateAutomation" => {
            format!("main@sha1:{}", &digest[..40])
        }
        "OCIRepository" => format!("latest@sha256:{digest}"),
        "HelmChart" | "HelmRelease" | "ImagePolicy" => format!("6.5.{n}"),
        _ => format!("sha256:{digest}"),
    }
}

fn source_ref(refs: &Refs, default_kind: &str, ns: &str) -> Value {
    match &refs.source {
        Some((kind, sns, name)) if sns != ns => {
            json!({"kind": kind, "name": name, "namespace": sns})
        }
        Some((kind, _, name)) => json!({"kind": kind, "name": name}),
        None => json!({"kind": default_kind, "name": "flux-system", "namespace": "flux-system"}),
    }
}

fn depends_on(refs: &Refs, ns: &str) -> Value {
    let deps: Vec<Value> = refs
        .depends_on
        .iter()
        .map(|(dns, dname)| {
            if dns == ns {
                json!({"name": dname})
            } else {
                json!({"name": dname, "namespace": dns})
            }
        })
        .collect();
    Value::Array(deps)
}

/// The `spec` of a Flux object.
pub fn spec(kind: &str, ns: &str, name: &str, refs: &Refs) -> Value {
    let src_name = refs.source.as_ref().map_or("flux-system", |s| s.2.as_str());
    let mut spec = match kind {
        "GitRepository" => {
            json!({"interval": "5m0s", "timeout": "60s", "url": format!("https://github.com/acme/{name}"), "ref": {"branch": "main"}, "secretRef": {"name": "git-credentials"}})
        }
        "HelmRepository" => {
            json!({"interval": "10m0s", "timeout": "60s", "url": format!("https://charts.acme.example/{name}"), "provider": "generic"})
        }
        "HelmChart" => {
            json!({"interval": "5m0s", "chart": "podinfo", "version": "6.5.*", "reconcileStrategy": "ChartVersion", "sourceRef": source_ref(refs, "HelmRepository", ns)})
        }
        "OCIRepository" => {
            json!({"interval": "5m0s", "timeout": "60s", "url": format!("oci://ghcr.io/acme/{name}"), "ref": {"tag": "latest"}, "provider": "generic"})
        }
        "Bucket" => {
            json!({"interval": "5m0s", "timeout": "60s", "provider": "generic", "bucketName": format!("flux-{name}"), "endpoint": "minio.minio.svc.cluster.local:9000", "insecure": true})
        }
        "Kustomization" => json!({
            "interval": "10m0s", "retryInterval": "2m0s", "timeout": "5m0s", "path": format!("./apps/{name}"),
            "prune": true, "wait": true, "targetNamespace": ns, "sourceRef": source_ref(refs, "GitRepository", ns),
        }),
        "HelmRelease" => json!({
            "interval": "10m0s", "releaseName": name, "timeout": "5m0s",
            "chart": {"spec": {"chart": "podinfo", "version": "6.5.*", "reconcileStrategy": "ChartVersion", "interval": "5m0s", "sourceRef": source_ref(refs, "HelmRepository", ns)}},
            "install": {"remediation": {"retries": 3}}, "upgrade": {"remediation": {"retries": 3, "remediateLastFailure": true}},
            "values": {"replicaCount": 2, "ingress": {"enabled": false}},
        }),
        "Alert" => {
            json!({"providerRef": {"name": src_name}, "eventSeverity": "info", "eventSources": [{"kind": "Kustomization", "name": "*"}, {"kind": "HelmRelease", "name": "*"}]})
        }
        "Provider" => {
            json!({"type": "slack", "channel": format!("#{name}"), "address": "https://hooks.slack.com/services/T000/B000/XXXX", "secretRef": {"name": "slack-webhook"}})
        }
        "Receiver" => {
            json!({"type": "github", "events": ["ping", "push"], "secretRef": {"name": "webhook-token"}, "resources": [{"kind": "GitRepository", "name": src_name}]})
        }
        "ImageRepository" => {
            json!({"image": format!("ghcr.io/acme/{name}"), "interval": "5m0s", "exclusionList": ["^.*\\.sig$"]})
        }
        "ImagePolicy" => {
            json!({"imageRepositoryRef": {"name": src_name}, "policy": {"semver": {"range": "6.5.x"}}})
        }
        "ImageUpdateAutomation" => json!({
            "interval": "30m0s", "sourceRef": source_ref(refs, "GitRepository", ns),
            "git": {"checkout": {"ref": {"branch": "main"}}, "commit": {"author": {"email": "fluxcdbot@users.noreply.github.com", "name": "fluxcdbot"}, "messageTemplate": "Automated image update"}, "push": {"branch": "main"}},
            "update": {"path": "./clusters/production", "strategy": "Setters"},
        }),
        _ => json!({}),
    };
    if !refs.depends_on.is_empty() && matches!(kind, "Kustomization" | "HelmRelease") {
        spec["dependsOn"] = depends_on(refs, ns);
    }
    spec
}

/// A Flux object without status (as `kubectl apply` would create it).
pub fn object(
    kind: &str,
    flavor: FluxFlavor,
    ns: &str,
    name: &str,
    refs: &Refs,
    labels: Value,
) -> Value {
    let mut obj = json!({
        "apiVersion": api_version(kind, flavor),
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": spec(kind, ns, name, refs),
    });
    // Alert and Provider v1beta3 are static objects without a finalizer.
    if !matches!(kind, "Alert" | "Provider") {
        obj["metadata"]["finalizers"] = json!(["finalizers.fluxcd.io"]);
    }
    obj
}
