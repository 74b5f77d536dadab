//! The Kubernetes kinds Flux applies, as the simulator serves them, and workload objects as
//! kustomize-controller and helm-controller leave them: the ownership labels, a pod template
//! with container images, `spec` per kind. Their `status` is `workloadstatus.rs`'s.
//!
//! Objects stay small (no managedFields, one or two containers, no resources or probes): the
//! fleet benchmark keeps 8,000 of them per cluster next to 2,000 Flux objects.

use serde_json::{Value, json};

use super::catalog::{Class, ResourceType};
use super::fluxspec::hex_digest;

/// kustomize-controller's ownership label: the name of the Kustomization that applied it.
pub const KUSTOMIZE_NAME: &str = "kustomize.toolkit.fluxcd.io/name";
/// kustomize-controller's ownership label: that Kustomization's namespace.
pub const KUSTOMIZE_NAMESPACE: &str = "kustomize.toolkit.fluxcd.io/namespace";
/// helm-controller's ownership label: the name of the HelmRelease that installed it.
pub const HELM_NAME: &str = "helm.toolkit.fluxcd.io/name";
/// helm-controller's ownership label: that HelmRelease's namespace.
pub const HELM_NAMESPACE: &str = "helm.toolkit.fluxcd.io/namespace";

/// One served workload kind: `(group, kind, plural, singular, short names, generation)`.
type KindRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    bool,
);

/// The workload kinds, all at `v1` of their group, each with a `/status` subresource. Service
/// and PersistentVolumeClaim have no `metadata.generation` (the apiserver sets none).
#[rustfmt::skip]
const KINDS: &[KindRow] = &[
    ("apps", "Deployment", "deployments", "deployment", &["deploy"], true),
    ("apps", "StatefulSet", "statefulsets", "statefulset", &["sts"], true),
    ("apps", "DaemonSet", "daemonsets", "daemonset", &["ds"], true),
    ("batch", "Job", "jobs", "job", &[], true),
    ("batch", "CronJob", "cronjobs", "cronjob", &["cj"], true),
    ("", "Service", "services", "service", &["svc"], false),
    ("", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", &["pvc"], false),
    ("networking.k8s.io", "Ingress", "ingresses", "ingress", &["ing"], true),
];

/// The workload types every simulated cluster serves, whatever its Flux flavor.
pub(crate) fn types() -> Vec<ResourceType> {
    KINDS
        .iter()
        .map(
            |&(group, kind, plural, singular, short_names, generation)| ResourceType {
                class: Class::Workload,
                generation,
                group,
                kind,
                plural,
                singular,
                namespaced: true,
                short_names,
                versions: vec!["v1"],
                has_status: true,
                controller: None,
            },
        )
        .collect()
}

/// `apiVersion` of a workload kind.
pub fn api_version(kind: &str) -> &'static str {
    match KINDS.iter().find(|k| k.1 == kind).map_or("", |k| k.0) {
        "apps" => "apps/v1",
        "batch" => "batch/v1",
        "networking.k8s.io" => "networking.k8s.io/v1",
        _ => "v1",
    }
}

/// The Flux object that applied a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `Kustomization` or `HelmRelease`.
    pub kind: &'static str,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl Owner {
    /// The labels (and, for Helm, annotations) its controller puts on what it applies.
    fn metadata(&self, name: &str) -> (Value, Value) {
        let (owner_name, owner_ns) = (&self.name, &self.namespace);
        let mut labels =
            json!({"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": owner_name});
        if self.kind == "HelmRelease" {
            labels[HELM_NAME] = json!(owner_name);
            labels[HELM_NAMESPACE] = json!(owner_ns);
            labels["app.kubernetes.io/managed-by"] = json!("Helm");
            let annotations = json!({"meta.helm.sh/release-name": owner_name, "meta.helm.sh/release-namespace": owner_ns});
            (labels, annotations)
        } else {
            labels[KUSTOMIZE_NAME] = json!(owner_name);
            labels[KUSTOMIZE_NAMESPACE] = json!(owner_ns);
            (labels, Value::Null)
        }
    }
}

/// What an owner's application is made of, in order: the `j`-th workload of an owner is
/// `MIX[j % len]`, named `<owner>-<component>` (then `-1`, `-2`... on later rounds).
const MIX: &[(&str, &str)] = &[
    ("Deployment", "web"),
    ("Service", "web"),
    ("Deployment", "worker"),
    ("Ingress", "web"),
    ("StatefulSet", "db"),
    ("Service", "db"),
    ("PersistentVolumeClaim", "data"),
    ("DaemonSet", "agent"),
    ("CronJob", "report"),
    ("Job", "migrate"),
];

/// One planned workload: kind, name and the component it plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Its kind.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// `web`, `worker`, `db`, `data`, `agent`, `report` or `migrate`.
    pub component: &'static str,
}

/// The `j`-th workload an owner named `owner` applies.
pub fn planned(owner: &str, j: usize) -> Planned {
    let (kind, component) = MIX[j % MIX.len()];
    let round = j / MIX.len();
    let name = match round {
        0 => format!("{owner}-{component}"),
        n => format!("{owner}-{component}-{n}"),
    };
    Planned {
        kind,
        name,
        component,
    }
}

/// A small deterministic number for `name` (initial image versions, addresses).
fn seed_of(name: &str, modulo: u64) -> u64 {
    u64::from_str_radix(&hex_digest(&[name], 8), 16).unwrap_or(0) % modulo
}

/// A container: `(name, image)`.
type Container = (String, String);

/// The containers and init containers of a component, as `(name, image)`. Image references
/// come in every shape the fleet has: Docker Hub short names, registries with a port, tags,
/// digests, and both.
fn images(p: &Planned, ns: &str, owner: &str) -> (Vec<Container>, Vec<Container>) {
    let r = seed_of(&p.name, 8);
    let digest = hex_digest(&[&p.name, "image"], 64);
    let c = |name: &str, image: String| (name.to_string(), image);
    match p.component {
        "web" => (
            vec![
                c("app", format!("ghcr.io/acme/{owner}:1.4.{r}")),
                c("proxy", "nginx:1.25.3".into()),
            ],
            vec![],
        ),
        "worker" => (
            vec![c(
                "worker",
                format!("registry.acme.internal:5000/{ns}/{owner}-worker:2.{r}"),
            )],
            vec![],
        ),
        "db" => (
            vec![c(
                "postgres",
                format!("docker.io/library/postgres:16.{r}@sha256:{digest}"),
            )],
            vec![c("init-permissions", "busybox:1.36".into())],
        ),
        "agent" => (
            vec![c(
                "node-exporter",
                format!("quay.io/prometheus/node-exporter@sha256:{digest}"),
            )],
            vec![],
        ),
        "report" => (
            vec![c("report", format!("ghcr.io/acme/reporter:0.{r}.0"))],
            vec![],
        ),
        _ => (
            vec![c(
                "migrate",
                format!("ghcr.io/acme/{owner}-migrate:1.4.{r}"),
            )],
            vec![c("wait-for-db", "alpine:3.20".into())],
        ),
    }
}

/// A pod template running `containers` (and `init`), labelled for the selector.
fn pod_template(name: &str, containers: &[Container], init: &[Container]) -> Value {
    let list = |cs: &[Container]| -> Vec<Value> {
        cs.iter()
            .map(|(n, image)| json!({"name": n, "image": image}))
            .collect()
    };
    let mut spec = json!({"containers": list(containers)});
    if !init.is_empty() {
        spec["initContainers"] = json!(list(init));
    }
    json!({"metadata": {"labels": {"app.kubernetes.io/name": name}}, "spec": spec})
}

/// The `spec` of a planned workload.
fn spec(p: &Planned, ns: &str, owner: &str) -> Value {
    let (containers, init) = images(p, ns, owner);
    let template = pod_template(&p.name, &containers, &init);
    let selector = json!({"matchLabels": {"app.kubernetes.io/name": p.name}});
    match p.kind {
        "Deployment" => json!({
            "replicas": if p.component == "web" { 3 } else { 2 }, "selector": selector,
            "template": template, "progressDeadlineSeconds": 600, "revisionHistoryLimit": 10,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        }),
        "StatefulSet" => json!({
            "replicas": 1, "serviceName": p.name, "selector": selector, "template": template,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        }),
        "DaemonSet" => json!({
            "selector": selector, "template": template,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        }),
        "Job" => {
            let mut t = template;
            t["spec"]["restartPolicy"] = json!("Never");
            json!({"backoffLimit": 6, "completions": 1, "parallelism": 1, "template": t})
        }
        "CronJob" => {
            let mut t = template;
            t["spec"]["restartPolicy"] = json!("OnFailure");
            json!({"schedule": "0 * * * *", "concurrencyPolicy": "Forbid", "jobTemplate": {"spec": {"template": t}}})
        }
        "Service" => service_spec(p),
        "PersistentVolumeClaim" => json!({
            "accessModes": ["ReadWriteOnce"], "storageClassName": "standard", "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": "10Gi"}}, "volumeName": format!("pvc-{}", hex_digest(&[&p.name, ns], 32)),
        }),
        _ => json!({
            "ingressClassName": "nginx",
            "rules": [{"host": format!("{}.{ns}.example.com", p.name), "http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": p.name, "port": {"number": 80}}}}]}}],
        }),
    }
}

/// A web Service is a LoadBalancer; a database's is headless.
fn service_spec(p: &Planned) -> Value {
    let selector = json!({"app.kubernetes.io/name": p.name.clone()});
    if p.component == "db" {
        return json!({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"], "selector": selector,
            "ports": [{"name": "postgres", "port": 5432, "protocol": "TCP", "targetPort": 5432}]});
    }
    let n = seed_of(&p.name, 65_000);
    let ip = format!("10.96.{}.{}", n / 250, n % 250 + 2);
    json!({"type": "LoadBalancer", "clusterIP": ip, "clusterIPs": [ip], "selector": selector,
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]})
}

/// A workload as its owner applied it, without status.
pub fn object(p: &Planned, ns: &str, owner: &Owner) -> Value {
    let (labels, annotations) = owner.metadata(&p.name);
    let mut obj = json!({
        "apiVersion": api_version(p.kind),
        "kind": p.kind,
        "metadata": {"name": p.name, "namespace": ns, "labels": labels},
        "spec": spec(p, ns, &owner.name),
    });
    if !annotations.is_null() {
        obj["metadata"]["annotations"] = annotations;
    }
    obj
}

/// The inventory entry id kustomize-controller (and helm-controller since Flux 2.8) records for
/// an object: `<namespace>_<name>_<group>_<Kind>`, with an empty group for core kinds.
pub fn inventory_entry(kind: &str, ns: &str, name: &str) -> Value {
    let group = KINDS.iter().find(|k| k.1 == kind).map_or("", |k| k.0);
    json!({"id": format!("{ns}_{name}_{group}_{kind}"), "v": "v1"})
}

/// Where a kind keeps its pod spec, if it has one.
pub fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => Some(&["spec", "template", "spec"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// The image after `image`: the last number of its tag goes up by one, its digest (if any)
/// changes; `repo@sha256:…` gets a new digest only.
pub fn next_image(image: &str) -> String {
    let (base, digest) = match image.split_once("@sha256:") {
        Some((b, d)) => (b, Some(hex_digest(&[d], 64))),
        None => (image, None),
    };
    let slash = base.rfind('/').map_or(0, |i| i + 1);
    let bumped = match base[slash..].rfind(':') {
        Some(i) => {
            let (repo, tag) = base.split_at(slash + i + 1);
            format!("{repo}{}", bump_last_number(tag))
        }
        None if digest.is_none() => format!("{base}:1"),
        None => base.to_string(),
    };
    match digest {
        Some(d) => format!("{bumped}@sha256:{d}"),
        None => bumped,
    }
}

/// `1.4.7` → `1.4.8`, `v2` → `v3`, `latest` → `latest.1`.
fn bump_last_number(tag: &str) -> String {
    let end = tag.trim_end_matches(|c: char| !c.is_ascii_digit()).len();
    let start = tag[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    match tag[start..end].parse::<u64>() {
        Ok(n) => format!("{}{}{}", &tag[..start], n + 1, &tag[end..]),
        Err(_) => format!("{tag}.1"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_image_bumps_the_tag_and_changes_the_digest() {
        assert_eq!(
            next_image("ghcr.io/acme/web:1.4.7"),
            "ghcr.io/acme/web:1.4.8"
        );
        assert_eq!(
            next_image("registry.acme.internal:5000/apps/w:2.9"),
            "registry.acme.internal:5000/apps/w:2.10"
        );
        assert_eq!(next_image("busybox"), "busybox:1");
        let d = format!("sha256:{}", "a".repeat(64));
        let only = next_image(&format!("quay.io/x/y@{d}"));
        assert!(
            only.starts_with("quay.io/x/y@sha256:") && !only.ends_with(&d),
            "{only}"
        );
        let both = next_image(&format!("postgres:16.1@{d}"));
        assert!(both.starts_with("postgres:16.2@sha256:"), "{both}");
    }

    #[test]
    fn owners_label_what_they_apply_and_inventory_ids_follow_flux() {
        let owner = Owner {
            kind: "HelmRelease",
            namespace: "apps".into(),
            name: "release-0".into(),
        };
        let p = planned("release-0", 11);
        assert_eq!((p.kind, p.name.as_str()), ("Service", "release-0-web-1"));
        let obj = object(&p, "apps", &owner);
        assert_eq!(obj["metadata"]["labels"][HELM_NAME], "release-0");
        assert_eq!(obj["metadata"]["labels"][HELM_NAMESPACE], "apps");
        assert_eq!(
            inventory_entry("Deployment", "apps", "web")["id"],
            "apps_web_apps_Deployment"
        );
        assert_eq!(
            inventory_entry("Service", "apps", "web")["id"],
            "apps_web__Service"
        );
    }
}
