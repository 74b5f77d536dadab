//! What `cluster add` creates in a cluster, as plain objects (printed by `--dry-run`, applied
//! otherwise), and the kubeconfig it registers. Pure.

use serde_json::{Value, json};

/// The token Secret's type, filled by the cluster's token controller.
pub const TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";

/// Flux's API groups: read, and patch (reconcile, suspend, resume).
pub const FLUX_GROUPS: &[&str] = &[
    "source.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "notification.toolkit.fluxcd.io",
    "image.toolkit.fluxcd.io",
    // ExternalArtifact is in source.toolkit; source-watcher's ArtifactGenerator and Flux
    // Operator's kinds are found by discovery too.
    "source.extensions.fluxcd.io",
    "fluxcd.controlplane.io",
];

/// Read-only: what the orchestrator watches besides Flux (Events, the Flux version on its
/// Namespace) and the workloads Flux applies (the graph's leaves).
const READ_ONLY: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "events",
            "namespaces",
            "services",
            "configmaps",
            "persistentvolumeclaims",
            "pods",
        ],
    ),
    (
        "apps",
        &["deployments", "statefulsets", "daemonsets", "replicasets"],
    ),
    ("batch", &["jobs", "cronjobs"]),
    ("networking.k8s.io", &["ingresses"]),
    ("events.k8s.io", &["events"]),
];

/// Names of the objects `cluster add` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// Namespace of the ServiceAccount and Secret.
    pub namespace: String,
    /// ServiceAccount, ClusterRole and ClusterRoleBinding name.
    pub account: String,
}

impl Names {
    /// The token Secret's name.
    pub fn secret(&self) -> String {
        format!("{}-token", self.account)
    }
}

fn labels() -> Value {
    json!({"app.kubernetes.io/managed-by": "flux-orchestrator"})
}

/// The ClusterRole's rules.
pub fn rules() -> Value {
    let mut rules = vec![json!({
        "apiGroups": FLUX_GROUPS,
        "resources": ["*"],
        "verbs": ["get", "list", "watch", "patch"],
    })];
    rules.extend(READ_ONLY.iter().map(|(group, resources)| {
        json!({"apiGroups": [group], "resources": resources, "verbs": ["get", "list", "watch"]})
    }));
    Value::Array(rules)
}

/// ServiceAccount, token Secret, ClusterRole and ClusterRoleBinding, in creation order.
pub fn objects(names: &Names) -> Vec<Value> {
    let (ns, account) = (&names.namespace, &names.account);
    vec![
        json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": account, "namespace": ns, "labels": labels()},
        }),
        json!({
            "apiVersion": "v1", "kind": "Secret", "type": TOKEN_SECRET_TYPE,
            "metadata": {
                "name": names.secret(), "namespace": ns, "labels": labels(),
                "annotations": {"kubernetes.io/service-account.name": account},
            },
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": account, "labels": labels()},
            "rules": rules(),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": account, "labels": labels()},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": account},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ns}],
        }),
    ]
}

/// The objects as one multi-document YAML stream.
pub fn yaml(objects: &[Value]) -> String {
    objects
        .iter()
        // A JSON value always serialises to YAML.
        .map(|o| serde_yaml::to_string(o).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The kubeconfig the orchestrator gets: the cluster's URL and CA, the ServiceAccount's token.
pub fn kubeconfig(
    name: &str,
    server: &str,
    ca_base64: Option<&str>,
    insecure: bool,
    token: &str,
) -> String {
    let mut cluster = json!({"server": server});
    if let Some(ca) = ca_base64.filter(|c| !c.is_empty()) {
        cluster["certificate-authority-data"] = json!(ca);
    }
    if insecure {
        cluster["insecure-skip-tls-verify"] = json!(true);
    }
    let doc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": "flux-orchestrator", "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "flux-orchestrator"}}],
        "current-context": name,
    });
    serde_yaml::to_string(&doc).unwrap_or_default()
}

/// A kubeconfig context name made a DNS-1123 label (the registry's rule for cluster names):
/// `arn:aws:eks:eu-west-1:1:cluster/Prod` → `arn-aws-eks-eu-west-1-1-cluster-prod`.
pub fn cluster_name(context: &str) -> String {
    let mut out = String::new();
    for c in context.chars().map(|c| c.to_ascii_lowercase()) {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    let out: String = out.chars().take(63).collect();
    out.trim_end_matches('-').to_string()
}

/// `key=value` labels as a map; an entry without `=` is an error.
pub fn parse_labels(pairs: &[String]) -> Result<serde_json::Map<String, Value>, String> {
    pairs
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), Value::String(v.to_string()))),
            _ => Err(format!("label {p:?} is not key=value")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            namespace: "kube-system".into(),
            account: "flux-orchestrator".into(),
        }
    }

    #[test]
    fn the_manifests_bind_a_token_secret_and_a_role_to_one_service_account() {
        let objs = objects(&names());
        let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "ServiceAccount",
                "Secret",
                "ClusterRole",
                "ClusterRoleBinding"
            ]
        );
        assert_eq!(objs[1]["type"], TOKEN_SECRET_TYPE);
        assert_eq!(objs[1]["metadata"]["name"], "flux-orchestrator-token");
        assert_eq!(
            objs[1]["metadata"]["annotations"]["kubernetes.io/service-account.name"],
            "flux-orchestrator"
        );
        assert_eq!(
            objs[3]["subjects"][0],
            json!({"kind": "ServiceAccount", "name": "flux-orchestrator", "namespace": "kube-system"})
        );
        assert_eq!(objs[3]["roleRef"]["name"], "flux-orchestrator");
        assert!(objs[2]["metadata"].get("namespace").is_none());
    }

    #[test]
    fn the_role_patches_flux_objects_and_only_reads_everything_else() {
        let rules = rules();
        let rules = rules.as_array().unwrap();
        let flux = &rules[0];
        assert_eq!(flux["verbs"], json!(["get", "list", "watch", "patch"]));
        assert_eq!(
            flux["apiGroups"].as_array().unwrap().len(),
            FLUX_GROUPS.len()
        );
        for rule in &rules[1..] {
            assert_eq!(rule["verbs"], json!(["get", "list", "watch"]), "{rule}");
            let groups = rule["apiGroups"].as_array().unwrap();
            assert!(
                groups
                    .iter()
                    .all(|g| !g.as_str().unwrap().contains("fluxcd"))
            );
        }
        assert!(rules.iter().all(|r| {
            !r["resources"]
                .as_array()
                .unwrap()
                .contains(&json!("secrets"))
        }));
    }

    #[test]
    fn dry_run_yaml_is_four_documents_that_parse_back() {
        let text = yaml(&objects(&names()));
        assert_eq!(text.matches("\n---\n").count(), 3);
        let docs: Vec<Value> = text
            .split("---\n")
            .map(|d| serde_yaml::from_str(d).unwrap())
            .collect();
        assert_eq!(docs, objects(&names()));
    }

    #[test]
    fn the_registered_kubeconfig_carries_the_token_and_the_ca() {
        let text = kubeconfig("prod", "https://1.2.3.4:6443", Some("Q0E="), false, "tok");
        let v: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            v["clusters"][0]["cluster"]["certificate-authority-data"],
            "Q0E="
        );
        assert_eq!(v["users"][0]["user"]["token"], "tok");
        assert_eq!(v["current-context"], "prod");
        assert!(
            v["clusters"][0]["cluster"]
                .get("insecure-skip-tls-verify")
                .is_none()
        );
        let v: Value = serde_yaml::from_str(&kubeconfig("p", "http://x", None, true, "t")).unwrap();
        assert_eq!(
            v["clusters"][0]["cluster"]["insecure-skip-tls-verify"],
            true
        );
    }

    #[test]
    fn context_names_become_dns_labels() {
        assert_eq!(cluster_name("kind-dev"), "kind-dev");
        assert_eq!(
            cluster_name("arn:aws:eks:eu-west-1:1:cluster/Prod"),
            "arn-aws-eks-eu-west-1-1-cluster-prod"
        );
        assert_eq!(cluster_name("--a__b--"), "a-b");
        assert_eq!(cluster_name(&"x".repeat(70)).len(), 63);
    }

    #[test]
    fn labels_must_be_key_value() {
        let m = parse_labels(&["env=prod".into(), "empty=".into()]).unwrap();
        assert_eq!(m["env"], "prod");
        assert_eq!(m["empty"], "");
        assert!(parse_labels(&["env".into()]).is_err());
        assert!(parse_labels(&["=x".into()]).is_err());
    }
}
