//! The Kubernetes manifests under `deploy/kubernetes`: every overlay renders with kubectl's
//! kustomize, every rendered object is valid against the Kubernetes API schemas (offline, with
//! the pinned `kubernetes-validate` from `deploy/requirements-test.txt`), and the rendered objects
//! keep the policies `docs/operating.md` promises: two probed replicas, unprivileged read-only
//! containers, credentials only from the Secret, a ClusterRole that reads and patches Flux
//! objects, lists and watches the workloads they apply, and nothing else, and a closed network
//! policy.
//!
//! Needs `kubectl` (1.21 or newer, for its built-in kustomize) and the validator's virtualenv in
//! `target/deploy-venv` (made by `make test`); a missing tool fails the test with the fix.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use base64::Engine;
use serde::Deserialize;
use serde_yaml::Value;

use crate::support::files::{repo, strings};

const OVERLAYS: &[&str] = &["evaluation", "external-db"];
/// Kubernetes releases whose schemas every object must satisfy: the oldest we support up to the
/// newest the pinned validator ships.
const KUBERNETES_VERSIONS: &[&str] = &[
    "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37",
];
const NAMESPACE: &str = "flux-orchestrator";
const APP: &str = "flux-orchestrator";
const IMAGE: &str = "ghcr.io/flux-orchestrator/flux-orchestrator";
const SECRET: &str = "flux-orchestrator";
/// Settings the manifests set before the binary reads them. Each entry names the issue that
/// brings it; the test fails once the binary knows the name, so the entry gets removed.
const PENDING_SETTINGS: &[(&str, &str)] = &[];

// ---- rendering and schema validation ---------------------------------------------------------

/// `kubectl kustomize` of one overlay, parsed; rendered once per test binary.
fn rendered(overlay: &str) -> &'static [Value] {
    static CACHE: OnceLock<BTreeMap<&'static str, Vec<Value>>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        OVERLAYS
            .iter()
            .map(|o| (*o, parse_documents(&render(o))))
            .collect()
    });
    &all[overlay]
}

fn overlay_dir(overlay: &str) -> PathBuf {
    repo().join("deploy/kubernetes/overlays").join(overlay)
}

fn render(overlay: &str) -> String {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(overlay_dir(overlay))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run kubectl ({e}). Install kubectl 1.21 or newer (on Debian: apt-get \
                 install kubectl from the Kubernetes packages, or the machine image's kubectl)"
            )
        });
    if !out.status.success() {
        let version = Command::new("kubectl")
            .args(["version", "--client"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        panic!(
            "kubectl kustomize {overlay} failed:\n{}\nkubectl: {version}\nThe manifests need \
             kubectl's built-in kustomize v4 or newer (kubectl 1.21+); Debian 12's \
             kubernetes-client 1.20 is too old.",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).expect("kustomize prints UTF-8")
}

fn parse_documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("kustomize output is YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// The virtualenv's Python with the pinned validator; `FLUXO_DEPLOY_PYTHON` overrides it.
fn validator_python() -> PathBuf {
    if let Some(p) = std::env::var_os("FLUXO_DEPLOY_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo().join("target/deploy-venv/bin/python3");
    assert!(
        venv.exists(),
        "{} is missing. Install the pinned schema validator (make test does this):\n  \
         python3 -m venv target/deploy-venv && target/deploy-venv/bin/pip install -r \
         deploy/requirements-test.txt\n(on Debian, python3 -m venv needs apt-get install python3-venv)",
        venv.display()
    );
    venv
}

#[test]
fn every_overlay_renders_and_validates_against_the_kubernetes_schemas() {
    let python = validator_python();
    for overlay in OVERLAYS {
        let mut cmd = Command::new(&python);
        cmd.arg(repo().join("deploy/validate.py"));
        for v in KUBERNETES_VERSIONS {
            cmd.args(["-k", v]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(render(overlay).as_bytes())
            .expect("write manifests to the validator");
        let out = child.wait_with_output().expect("validator runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "overlay {overlay} does not validate:\n{stdout}{stderr}"
        );
        println!("{overlay}: {}", stdout.trim());
    }
}

// ---- helpers over the rendered objects -------------------------------------------------------

fn kind(obj: &Value) -> &str {
    obj["kind"].as_str().unwrap_or("")
}

fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("")
}

fn id(obj: &Value) -> String {
    format!("{}/{}", kind(obj), name(obj))
}

fn find<'a>(objects: &'a [Value], kind_: &str, name_: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| kind(o) == kind_ && name(o) == name_)
        .unwrap_or_else(|| panic!("no {kind_}/{name_} rendered"))
}

fn of_kind<'a>(objects: &'a [Value], kind_: &'a str) -> impl Iterator<Item = &'a Value> {
    objects.iter().filter(move |o| kind(o) == kind_)
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether every label in `selector` is among `labels`.
fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The pod spec of a workload, if `obj` is one.
fn pod_spec(obj: &Value) -> Option<&Value> {
    match kind(obj) {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            Some(&obj["spec"]["template"]["spec"])
        }
        "CronJob" => Some(&obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        "Pod" => Some(&obj["spec"]),
        _ => None,
    }
}

fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .filter_map(|k| pod[k].as_sequence())
        .flatten()
}

fn server_deployment(objects: &[Value]) -> &Value {
    find(objects, "Deployment", APP)
}

fn server_container(objects: &[Value]) -> &Value {
    let pod = &server_deployment(objects)["spec"]["template"]["spec"];
    pod["containers"]
        .as_sequence()
        .and_then(|c| c.iter().find(|c| c["name"] == "server"))
        .expect("the Deployment has a container named server")
}

fn env_var<'a>(container: &'a Value, var: &str) -> Option<&'a Value> {
    container["env"]
        .as_sequence()?
        .iter()
        .find(|e| e["name"].as_str() == Some(var))
}

/// The environment variables a subcommand of the binary reads, from its `--help`.
fn settings_of(subcommand: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_flux-orchestrator"))
        .args([subcommand, "--help"])
        .output()
        .expect("run flux-orchestrator --help");
    assert!(out.status.success(), "{subcommand} --help failed");
    String::from_utf8_lossy(&out.stdout)
        .split("[env: ")
        .skip(1)
        .map(|rest| rest.split(['=', ']']).next().unwrap_or("").to_owned())
        .collect()
}

// ---- the server ------------------------------------------------------------------------------

#[test]
fn the_server_runs_two_replicas_probed_on_healthz_and_readyz() {
    for overlay in OVERLAYS {
        let objects = rendered(overlay);
        let deployment = server_deployment(objects);
        assert_eq!(
            deployment["spec"]["replicas"].as_u64(),
            Some(2),
            "{overlay}"
        );
        let c = server_container(objects);
        let port = c["ports"]
            .as_sequence()
            .and_then(|p| p.iter().find(|p| p["containerPort"].as_u64() == Some(8080)))
            .unwrap_or_else(|| panic!("{overlay}: the server exposes containerPort 8080"));
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = &c[probe]["httpGet"];
            assert_eq!(get["path"].as_str(), Some(path), "{overlay}: {probe}");
            let target = &get["port"];
            assert!(
                target.as_u64() == Some(8080) || *target == port["name"],
                "{overlay}: {probe} must probe port 8080, probes {target:?}"
            );
        }
        let listen = env_var(c, "FLUXO_LISTEN").expect("FLUXO_LISTEN is set")["value"]
            .as_str()
            .expect("FLUXO_LISTEN is a literal");
        assert_eq!(
            listen, "0.0.0.0:8080",
            "{overlay}: listen on the pod's address"
        );
        assert_eq!(
            c["image"].as_str(),
            Some(format!("{IMAGE}:{}", env!("CARGO_PKG_VERSION")).as_str()),
            "{overlay}: the image is the release of this crate version"
        );
    }
}

#[test]
fn the_server_reads_its_credentials_from_the_secret() {
    let expected = [
        ("DATABASE_URL", "database-url"),
        ("FLUXO_SECRET_KEY", "secret-key"),
        ("FLUXO_ADMIN_TOKEN", "admin-token"),
    ];
    for overlay in OVERLAYS {
        let c = server_container(rendered(overlay));
        for (var, key) in expected {
            let e = env_var(c, var).unwrap_or_else(|| panic!("{overlay}: {var} is not set"));
            assert!(
                e["value"].is_null(),
                "{overlay}: {var} must not be a literal"
            );
            let r = &e["valueFrom"]["secretKeyRef"];
            assert_eq!(r["name"].as_str(), Some(SECRET), "{overlay}: {var}");
            assert_eq!(r["key"].as_str(), Some(key), "{overlay}: {var}");
        }
    }
}

#[test]
fn every_setting_the_manifests_set_is_one_the_server_reads() {
    let known = settings_of("serve");
    assert!(
        known.contains("DATABASE_URL"),
        "serve --help lists its env names: {known:?}"
    );
    for (name, issue) in PENDING_SETTINGS {
        assert!(
            !known.contains(*name),
            "the binary reads {name} now: remove it from PENDING_SETTINGS ({issue})"
        );
    }
    for overlay in OVERLAYS {
        let c = server_container(rendered(overlay));
        for e in c["env"].as_sequence().into_iter().flatten() {
            let var = e["name"].as_str().unwrap_or("");
            if !(var.starts_with("FLUXO_") || var == "DATABASE_URL") {
                continue;
            }
            assert!(
                known.contains(var) || PENDING_SETTINGS.iter().any(|(p, _)| *p == var),
                "{overlay}: the server has no setting {var} (serve --help knows {known:?})"
            );
        }
    }
}

#[test]
fn the_server_uses_its_service_account_and_a_writable_tmp() {
    for overlay in OVERLAYS {
        let objects = rendered(overlay);
        let pod = &server_deployment(objects)["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"].as_str(), Some(APP), "{overlay}");
        assert_eq!(
            pod["automountServiceAccountToken"].as_bool(),
            Some(true),
            "{overlay}: FLUXO_IN_CLUSTER needs the token"
        );
        find(objects, "ServiceAccount", APP);
        let tmp = server_container(objects)["volumeMounts"]
            .as_sequence()
            .and_then(|m| m.iter().find(|m| m["mountPath"] == "/tmp"))
            .unwrap_or_else(|| panic!("{overlay}: /tmp is mounted"));
        let volume = pod["volumes"]
            .as_sequence()
            .and_then(|v| v.iter().find(|v| v["name"] == tmp["name"]))
            .expect("the /tmp volume exists");
        assert!(
            volume["emptyDir"].is_mapping(),
            "{overlay}: /tmp is an emptyDir"
        );
    }
}

#[test]
fn a_disruption_budget_and_spreading_keep_a_replica_serving() {
    for overlay in OVERLAYS {
        let objects = rendered(overlay);
        let deployment = server_deployment(objects);
        let labels = string_map(&deployment["spec"]["template"]["metadata"]["labels"]);
        let pdb = find(objects, "PodDisruptionBudget", APP);
        assert_eq!(pdb["spec"]["minAvailable"].as_u64(), Some(1), "{overlay}");
        assert!(
            selects(
                &string_map(&pdb["spec"]["selector"]["matchLabels"]),
                &labels
            ),
            "{overlay}: the budget selects the server's pods"
        );
        let pod = &deployment["spec"]["template"]["spec"];
        let spread: Vec<&Value> = pod["topologySpreadConstraints"]
            .as_sequence()
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        let anti = &pod["affinity"]["podAntiAffinity"];
        assert!(
            !spread.is_empty() || anti.is_mapping(),
            "{overlay}: replicas are spread"
        );
        for c in spread {
            assert!(
                selects(&string_map(&c["labelSelector"]["matchLabels"]), &labels),
                "{overlay}: a spread constraint selects the server's pods"
            );
        }
        let rolling = &deployment["spec"]["strategy"]["rollingUpdate"];
        assert_eq!(
            rolling["maxUnavailable"].as_u64(),
            Some(0),
            "{overlay}: rollouts keep both replicas serving"
        );
    }
}

#[test]
fn the_service_sends_port_8080_to_the_server() {
    for overlay in OVERLAYS {
        let objects = rendered(overlay);
        let service = find(objects, "Service", APP);
        let labels =
            string_map(&server_deployment(objects)["spec"]["template"]["metadata"]["labels"]);
        assert!(
            selects(&string_map(&service["spec"]["selector"]), &labels),
            "{overlay}"
        );
        assert!(
            matches!(service["spec"]["type"].as_str(), None | Some("ClusterIP")),
            "{overlay}: not exposed outside the cluster"
        );
        let ports = service["spec"]["ports"].as_sequence().expect("ports");
        assert_eq!(ports.len(), 1, "{overlay}");
        assert_eq!(ports[0]["port"].as_u64(), Some(8080), "{overlay}");
        let target = &ports[0]["targetPort"];
        assert!(
            target.as_u64() == Some(8080) || target.as_str() == Some("http"),
            "{overlay}"
        );
    }
}

// ---- every workload --------------------------------------------------------------------------

/// The policy violations of one container in one pod; empty when it complies.
fn container_violations(pod: &Value, c: &Value) -> Vec<String> {
    let sc = &c["securityContext"];
    let psc = &pod["securityContext"];
    let effective = |key: &str| {
        if sc[key].is_null() {
            &psc[key]
        } else {
            &sc[key]
        }
    };
    let mut bad = Vec::new();
    let mut check = |ok: bool, what: &str| {
        if !ok {
            bad.push(what.to_owned());
        }
    };
    check(
        effective("runAsNonRoot").as_bool() == Some(true),
        "runAsNonRoot: true",
    );
    check(
        effective("runAsUser").as_u64().is_some_and(|u| u != 0),
        "runAsUser set and not 0",
    );
    check(
        sc["allowPrivilegeEscalation"].as_bool() == Some(false),
        "allowPrivilegeEscalation: false",
    );
    check(
        sc["readOnlyRootFilesystem"].as_bool() == Some(true),
        "readOnlyRootFilesystem: true",
    );
    check(sc["privileged"].as_bool() != Some(true), "not privileged");
    check(
        strings(&sc["capabilities"]["drop"]).contains(&"ALL"),
        "capabilities.drop: [ALL]",
    );
    check(
        strings(&sc["capabilities"]["add"]).is_empty(),
        "no added capabilities",
    );
    check(
        effective("seccompProfile")["type"].as_str() == Some("RuntimeDefault"),
        "seccompProfile RuntimeDefault",
    );
    let res = &c["resources"];
    for key in ["requests.cpu", "requests.memory", "limits.memory"] {
        let (a, b) = key.split_once('.').expect("two parts");
        check(!res[a][b].is_null(), &format!("resources.{key}"));
    }
    let image = c["image"].as_str().unwrap_or("");
    check(
        image
            .rsplit_once(':')
            .is_some_and(|(_, tag)| tag != "latest" && !tag.contains('/')),
        "an image with a pinned tag",
    );
    bad
}

#[test]
fn every_container_runs_unprivileged_with_a_read_only_root_and_resource_limits() {
    for overlay in OVERLAYS {
        let workloads: Vec<&Value> = rendered(overlay)
            .iter()
            .filter(|o| pod_spec(o).is_some())
            .collect();
        assert!(!workloads.is_empty(), "{overlay}: no workloads rendered");
        for w in workloads {
            let pod = pod_spec(w).expect("a workload");
            for flag in ["hostNetwork", "hostPID", "hostIPC"] {
                assert_ne!(
                    pod[flag].as_bool(),
                    Some(true),
                    "{overlay}: {} sets {flag}",
                    id(w)
                );
            }
            for v in pod["volumes"].as_sequence().into_iter().flatten() {
                assert!(
                    v["hostPath"].is_null(),
                    "{overlay}: {} mounts a hostPath",
                    id(w)
                );
            }
            let all: Vec<&Value> = containers(pod).collect();
            assert!(!all.is_empty(), "{overlay}: {} has no containers", id(w));
            for c in all {
                let bad = container_violations(pod, c);
                assert!(
                    bad.is_empty(),
                    "{overlay}: {} container {} lacks: {}",
                    id(w),
                    c["name"].as_str().unwrap_or("?"),
                    bad.join(", ")
                );
            }
        }
    }
}

#[test]
fn the_container_policy_check_rejects_a_root_container() {
    // The policy check above must be able to fail: a container with none of the settings.
    let pod: Value =
        serde_yaml::from_str("containers: [{name: x, image: 'busybox:latest'}]").expect("yaml");
    let c = &pod["containers"][0];
    assert_eq!(
        container_violations(&pod, c).len(),
        10,
        "{:?}",
        container_violations(&pod, c)
    );
}

#[test]
fn every_object_is_labelled_and_in_the_namespace() {
    let cluster_scoped = ["Namespace", "ClusterRole", "ClusterRoleBinding"];
    for overlay in OVERLAYS {
        for o in rendered(overlay) {
            let labels = string_map(&o["metadata"]["labels"]);
            for key in ["app.kubernetes.io/name", "app.kubernetes.io/part-of"] {
                assert!(
                    labels.contains_key(key),
                    "{overlay}: {} has no {key} label",
                    id(o)
                );
            }
            assert_eq!(
                labels["app.kubernetes.io/part-of"],
                APP,
                "{overlay}: {}",
                id(o)
            );
            let ns = o["metadata"]["namespace"].as_str();
            if cluster_scoped.contains(&kind(o)) {
                assert_eq!(ns, None, "{overlay}: {} is cluster-scoped", id(o));
            } else {
                assert_eq!(ns, Some(NAMESPACE), "{overlay}: {}", id(o));
            }
            if let Some(selector) = o["spec"]["selector"]["matchLabels"]
                .as_mapping()
                .filter(|_| pod_spec(o).is_some())
            {
                let sel = string_map(&Value::Mapping(selector.clone()));
                let template = string_map(&o["spec"]["template"]["metadata"]["labels"]);
                assert!(
                    selects(&sel, &template),
                    "{overlay}: {} selector matches its pods",
                    id(o)
                );
                assert!(
                    template.contains_key("app.kubernetes.io/name"),
                    "{overlay}: {} pods",
                    id(o)
                );
            }
        }
        find(rendered(overlay), "Namespace", NAMESPACE);
    }
}

// ---- secrets ---------------------------------------------------------------------------------

fn secret_value(secret: &Value, key: &str) -> String {
    let b64 = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{} has no key {key}", id(secret)));
    // kustomize wraps long values over lines, as Kubernetes' decoder allows.
    let b64: String = b64.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("Secret data is base64");
    String::from_utf8(bytes).expect("UTF-8 secret value")
}

#[test]
fn only_the_evaluation_overlay_carries_a_secret_and_it_says_insecure() {
    let external: Vec<String> = of_kind(rendered("external-db"), "Secret").map(id).collect();
    assert!(
        external.is_empty(),
        "external-db must not ship secrets: {external:?}"
    );
    let objects = rendered("evaluation");
    let secret = find(objects, "Secret", SECRET);
    for key in ["database-url", "admin-token"] {
        assert!(
            secret_value(secret, key).contains("INSECURE"),
            "the dev {key} must say INSECURE"
        );
    }
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret_value(secret, "secret-key"))
        .expect("secret-key is base64, as FLUXO_SECRET_KEY must be");
    assert_eq!(key.len(), 32, "FLUXO_SECRET_KEY is 32 bytes");
    assert!(String::from_utf8_lossy(&key).contains("INSECURE"));
}

/// `postgres://user:password@host:port/database` split into its parts.
fn parse_database_url(url: &str) -> (String, String, String, u16, String) {
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let (auth, rest) = rest.split_once('@').expect("user:password@");
    let (user, password) = auth.split_once(':').expect("user:password");
    let (hostport, db) = rest.split_once('/').expect("/database");
    let (host, port) = hostport.split_once(':').expect("host:port");
    let port = port.parse().expect("numeric port");
    (user.into(), password.into(), host.into(), port, db.into())
}

#[test]
fn the_evaluation_database_url_reaches_the_bundled_postgresql() {
    let objects = rendered("evaluation");
    let url = secret_value(find(objects, "Secret", SECRET), "database-url");
    let (user, password, host, port, db) = parse_database_url(&url);
    let service = find(objects, "Service", &host);
    let service_port = &service["spec"]["ports"][0];
    assert_eq!(service_port["port"].as_u64(), Some(u64::from(port)));
    let sts = find(objects, "StatefulSet", &host);
    assert_eq!(sts["spec"]["serviceName"].as_str(), Some(host.as_str()));
    let labels = string_map(&sts["spec"]["template"]["metadata"]["labels"]);
    assert!(selects(&string_map(&service["spec"]["selector"]), &labels));
    let c = &sts["spec"]["template"]["spec"]["containers"][0];
    let literal = |var: &str| {
        env_var(c, var)
            .and_then(|e| e["value"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(literal("POSTGRES_USER").as_deref(), Some(user.as_str()));
    assert_eq!(literal("POSTGRES_DB").as_deref(), Some(db.as_str()));
    let pw =
        &env_var(c, "POSTGRES_PASSWORD").expect("POSTGRES_PASSWORD")["valueFrom"]["secretKeyRef"];
    let pw_secret = find(objects, "Secret", pw["name"].as_str().expect("secret name"));
    assert_eq!(
        secret_value(pw_secret, pw["key"].as_str().expect("key")),
        password
    );
    let pvc = &sts["spec"]["volumeClaimTemplates"][0];
    assert!(
        !pvc["spec"]["resources"]["requests"]["storage"].is_null(),
        "the database keeps its data on a volume"
    );
}

// ---- RBAC ------------------------------------------------------------------------------------

const FLUX_VERBS: &[&str] = &["get", "list", "watch", "patch"];
const DISCOVERY_URLS: &[&str] = &[
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/version",
    "/version/*",
];

/// Every (group, resource, verb) a ClusterRole grants; panics on a rule outside the policy.
fn granted(role: &Value) -> BTreeSet<(String, String, String)> {
    let flux_groups: BTreeSet<&str> = flux_orchestrator::flux::FLUX_GROUPS
        .iter()
        .copied()
        .collect();
    let mut grants = BTreeSet::new();
    for rule in role["rules"].as_sequence().expect("rules") {
        let (groups, resources, verbs) = (
            strings(&rule["apiGroups"]),
            strings(&rule["resources"]),
            strings(&rule["verbs"]),
        );
        let urls = strings(&rule["nonResourceURLs"]);
        for field in [&groups, &resources, &verbs, &urls] {
            assert!(!field.contains(&"*"), "a wildcard in {rule:?}");
        }
        assert!(
            rule["resourceNames"].is_null(),
            "resourceNames are not expected: {rule:?}"
        );
        if !urls.is_empty() {
            assert!(
                groups.is_empty() && resources.is_empty(),
                "mixed rule {rule:?}"
            );
            assert_eq!(verbs, ["get"], "discovery is read-only: {rule:?}");
            assert!(
                urls.iter().all(|u| DISCOVERY_URLS.contains(u)),
                "only discovery URLs: {rule:?}"
            );
            continue;
        }
        for g in &groups {
            for r in &resources {
                let allowed: &[&str] = match (*g, *r) {
                    (g, _) if flux_groups.contains(g) => FLUX_VERBS,
                    ("" | "events.k8s.io", "events") => &["list", "watch"],
                    ("", "namespaces") => &["get", "list"],
                    // The workloads Flux applies: read-only, and only the kinds we watch.
                    (g, r)
                        if flux_orchestrator::flux::WORKLOAD_KINDS
                            .iter()
                            .any(|k| k.group == g && k.plural == r) =>
                    {
                        &["list", "watch"]
                    }
                    _ => panic!("{g}/{r} is outside the policy (rule {rule:?})"),
                };
                assert!(!r.contains('/'), "no subresources: {rule:?}");
                for v in &verbs {
                    assert!(allowed.contains(v), "{g}/{r} may not be given {v}");
                    grants.insert((g.to_string(), r.to_string(), v.to_string()));
                }
            }
        }
    }
    grants
}

#[test]
fn the_cluster_role_reads_and_patches_flux_objects_reads_their_workloads_and_nothing_else() {
    for overlay in OVERLAYS {
        let objects = rendered(overlay);
        let roles: Vec<String> = objects
            .iter()
            .filter(|o| matches!(kind(o), "ClusterRole" | "Role"))
            .map(id)
            .collect();
        assert_eq!(roles, [format!("ClusterRole/{APP}")], "{overlay}: one role");
        let grants = granted(find(objects, "ClusterRole", APP));
        assert!(
            !grants.iter().any(|(_, r, _)| r == "secrets"),
            "{overlay}: no secrets"
        );
        // Every kind the ingest watches is granted, with every verb the actions need.
        for k in flux_orchestrator::flux::FLUX_KINDS {
            for v in FLUX_VERBS {
                let g = (k.group.to_owned(), k.plural.to_owned(), (*v).to_owned());
                assert!(
                    grants.contains(&g),
                    "{overlay}: {} {}/{} is not granted",
                    v,
                    k.group,
                    k.plural
                );
            }
        }
        let flux_grants = grants
            .iter()
            .filter(|(g, _, _)| flux_orchestrator::flux::is_flux_group(g));
        for (g, r, _) in flux_grants {
            assert!(
                flux_orchestrator::flux::FLUX_KINDS
                    .iter()
                    .any(|k| k.group == g && k.plural == r),
                "{overlay}: {g}/{r} is not a Flux kind we watch"
            );
        }
        for k in &flux_orchestrator::flux::WORKLOAD_KINDS {
            for v in ["list", "watch"] {
                let g = (k.group.to_owned(), k.plural.to_owned(), v.to_owned());
                assert!(
                    grants.contains(&g),
                    "{overlay}: {v} {}/{}",
                    k.group,
                    k.plural
                );
            }
        }
        for (g, r, v) in [
            ("", "events", "watch"),
            ("events.k8s.io", "events", "list"),
            ("", "namespaces", "list"),
        ] {
            assert!(
                grants.contains(&(g.into(), r.into(), v.into())),
                "{overlay}: {v} {g}/{r}"
            );
        }
        let binding = find(objects, "ClusterRoleBinding", APP);
        assert_eq!(binding["roleRef"]["name"].as_str(), Some(APP));
        let subjects = binding["subjects"].as_sequence().expect("subjects");
        assert_eq!(
            subjects.len(),
            1,
            "{overlay}: bound to the service account only"
        );
        assert_eq!(subjects[0]["kind"].as_str(), Some("ServiceAccount"));
        assert_eq!(subjects[0]["name"].as_str(), Some(APP));
        assert_eq!(subjects[0]["namespace"].as_str(), Some(NAMESPACE));
        let bindings = of_kind(objects, "RoleBinding").count();
        assert_eq!(bindings, 0, "{overlay}: no namespaced bindings");
    }
}

#[test]
fn the_rbac_check_rejects_wildcards_and_secrets() {
    for rules in [
        "rules: [{apiGroups: [''], resources: ['*'], verbs: [get]}]",
        "rules: [{apiGroups: [''], resources: [secrets], verbs: [get]}]",
        "rules: [{apiGroups: [source.toolkit.fluxcd.io], resources: [gitrepositories], verbs: [delete]}]",
        "rules: [{apiGroups: [''], resources: [events], verbs: ['*']}]",
        "rules: [{nonResourceURLs: ['/metrics'], verbs: [get]}]",
    ] {
        let role: Value = serde_yaml::from_str(rules).expect("yaml");
        let caught = std::panic::catch_unwind(|| granted(&role)).is_err();
        assert!(caught, "the RBAC check accepted {rules}");
    }
}

// ---- network policy --------------------------------------------------------------------------

fn policy_for<'a>(objects: &'a [Value], pod_labels: &BTreeMap<String, String>) -> &'a Value {
    of_kind(objects, "NetworkPolicy")
        .find(|p| {
            selects(
                &string_map(&p["spec"]["podSelector"]["matchLabels"]),
                pod_labels,
            )
        })
        .expect("a NetworkPolicy selects the pods")
}

fn ports(rule: &Value) -> BTreeSet<(String, u64)> {
    rule["ports"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["protocol"].as_str().unwrap_or("TCP").to_owned(),
                p["port"].as_u64().expect("numeric port"),
            )
        })
        .collect()
}

#[test]
fn the_network_policy_admits_the_namespace_and_labelled_namespaces_only() {
    for overlay in OVERLAYS {
        let objects = rendered(overlay);
        let labels =
            string_map(&server_deployment(objects)["spec"]["template"]["metadata"]["labels"]);
        let policy = policy_for(objects, &labels);
        let types = strings(&policy["spec"]["policyTypes"]);
        assert!(
            types.contains(&"Ingress") && types.contains(&"Egress"),
            "{overlay}: {types:?}"
        );
        let ingress = policy["spec"]["ingress"]
            .as_sequence()
            .expect("ingress rules");
        assert!(!ingress.is_empty(), "{overlay}");
        for rule in ingress {
            assert_eq!(
                ports(rule),
                BTreeSet::from([("TCP".to_owned(), 8080)]),
                "{overlay}"
            );
            let peers = rule["from"]
                .as_sequence()
                .expect("ingress from named peers");
            for peer in peers {
                assert!(peer["ipBlock"].is_null(), "{overlay}: no ipBlock peers");
                let ns = &peer["namespaceSelector"];
                if ns.is_null() {
                    assert!(
                        peer["podSelector"].is_mapping(),
                        "{overlay}: pods of this namespace"
                    );
                } else {
                    let want = BTreeMap::from([(
                        "flux-orchestrator.io/access".to_owned(),
                        "true".to_owned(),
                    )]);
                    assert_eq!(
                        string_map(&ns["matchLabels"]),
                        want,
                        "{overlay}: only labelled namespaces"
                    );
                    assert!(ns["matchExpressions"].is_null(), "{overlay}");
                }
            }
        }
        let allowed: BTreeSet<(String, u64)> = [
            ("UDP", 53),
            ("TCP", 53),
            ("TCP", 5432),
            ("TCP", 443),
            ("TCP", 6443),
        ]
        .into_iter()
        .map(|(p, n)| (p.to_owned(), n))
        .collect();
        let mut egress = BTreeSet::new();
        for rule in policy["spec"]["egress"]
            .as_sequence()
            .expect("egress rules")
        {
            let p = ports(rule);
            assert!(
                !p.is_empty(),
                "{overlay}: an egress rule without ports allows everything"
            );
            egress.extend(p);
        }
        assert_eq!(
            egress, allowed,
            "{overlay}: egress is DNS, PostgreSQL and API servers"
        );
    }
}

#[test]
fn only_the_server_reaches_the_evaluation_database() {
    let objects = rendered("evaluation");
    let sts = find(objects, "StatefulSet", "flux-orchestrator-postgresql");
    let policy = policy_for(
        objects,
        &string_map(&sts["spec"]["template"]["metadata"]["labels"]),
    );
    let server = string_map(&server_deployment(objects)["spec"]["template"]["metadata"]["labels"]);
    for rule in policy["spec"]["ingress"]
        .as_sequence()
        .expect("ingress rules")
    {
        assert_eq!(ports(rule), BTreeSet::from([("TCP".to_owned(), 5432)]));
        for peer in rule["from"].as_sequence().expect("named peers") {
            assert!(peer["namespaceSelector"].is_null() && peer["ipBlock"].is_null());
            assert!(selects(
                &string_map(&peer["podSelector"]["matchLabels"]),
                &server
            ));
        }
    }
}
