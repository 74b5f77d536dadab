//! `kubectl` (Go client, TLS with the simulator's CA) works against the simulator: get, get -o
//! yaml, get --watch, patch --type merge, apply, delete, annotate, wait; with token and
//! client-certificate auth; workloads listed by their owners' labels, a rollout watched and
//! waited for (`rollout status`).
//! Skipped with a notice when `kubectl` is not on PATH.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fluxo_sim::{KubeconfigAuth, Scenario, SimCluster, SimOptions, Verb, WorkloadStep};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const T: Duration = Duration::from_secs(20);

fn kubectl_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
}

struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("kubectl");
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        c.kill_on_drop(true);
        c
    }

    async fn run(&self, args: &[&str]) -> String {
        let out = tokio::time::timeout(T, self.command(args).output())
            .await
            .expect("kubectl in time")
            .expect("run kubectl");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "kubectl {args:?} failed: {stderr}");
        stdout.into_owned()
    }
}

async fn setup(dir: &Path, auth: KubeconfigAuth, workloads: usize) -> (SimCluster, Kubectl) {
    let sim = SimCluster::start(SimOptions {
        controller_delay: Duration::from_millis(20),
        kubeconfig_auth: auth,
        ..SimOptions::named("kubectl-sim")
    })
    .await
    .unwrap();
    Scenario {
        namespaces: 2,
        objects_per_kind: 4,
        failure_ratio: 0.0,
        progressing_ratio: 0.0,
        suspended_ratio: 0.0,
        workloads,
        ..Scenario::default()
    }
    .populate(&sim)
    .unwrap();
    let kubeconfig = dir.join("sim.yaml");
    std::fs::write(&kubeconfig, sim.kubeconfig_yaml()).unwrap();
    (
        sim,
        Kubectl {
            kubeconfig,
            cache: dir.join("cache"),
        },
    )
}

#[tokio::test]
async fn kubectl_gets_watches_patches_and_annotates_flux_objects() {
    if kubectl_path().is_none() {
        eprintln!("NOTICE: kubectl is not on PATH; skipping the kubectl test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (sim, k) = setup(dir.path(), KubeconfigAuth::Token, 0).await;

    let table = k.run(&["get", "kustomizations", "-A"]).await;
    assert!(table.lines().next().unwrap().contains("READY"), "{table}");
    assert_eq!(
        table.lines().filter(|l| l.contains("app-")).count(),
        4,
        "{table}"
    );

    let yaml = k.run(&["get", "helmreleases", "-A", "-o", "yaml"]).await;
    let doc: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    let items = doc["items"].as_sequence().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(
        items[0]["apiVersion"].as_str(),
        Some("helm.toolkit.fluxcd.io/v2")
    );
    assert_eq!(
        items[0]["status"]["conditions"][0]["type"].as_str(),
        Some("Ready")
    );

    // get --watch: the initial list, then the change made while watching.
    let mut child = k
        .command(&[
            "get",
            "kustomizations",
            "-n",
            "apps",
            "--watch",
            "-o",
            "name",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(T, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        first.starts_with("kustomization.kustomize.toolkit.fluxcd.io/app-"),
        "{first}"
    );
    sim.objects().create(serde_json::json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "watched", "namespace": "apps"}, "spec": {"interval": "1m0s", "path": "./", "prune": true}})).unwrap();
    loop {
        let line = tokio::time::timeout(T, lines.next_line())
            .await
            .expect("watch output in time")
            .unwrap()
            .expect("watch continues");
        if line.ends_with("/watched") {
            break;
        }
    }
    child.kill().await.unwrap();

    let patched = k
        .run(&[
            "patch",
            "kustomization",
            "app-0",
            "-n",
            "apps",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"suspend":true}}"#,
        ])
        .await;
    assert!(patched.contains("patched"), "{patched}");
    let obj = sim.objects().get("Kustomization", "apps", "app-0").unwrap();
    assert_eq!(
        (
            obj["spec"]["suspend"].clone(),
            obj["metadata"]["generation"].clone()
        ),
        (serde_json::json!(true), serde_json::json!(2))
    );

    let manifest = dir.path().join("ks.yaml");
    let yaml = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: applied\n  namespace: apps\nspec:\n  interval: 5m\n  path: ./x\n  prune: true\n";
    std::fs::write(&manifest, yaml).unwrap();
    let manifest = manifest.to_str().unwrap();
    assert!(k.run(&["apply", "-f", manifest]).await.contains("created"));
    assert!(
        k.run(&["apply", "--server-side", "-f", manifest])
            .await
            .contains("serverside-applied")
    );
    assert!(k.run(&["delete", "-f", manifest]).await.contains("deleted"));

    k.run(&[
        "annotate",
        "--overwrite",
        "kustomization",
        "app-1",
        "-n",
        "apps",
        "reconcile.fluxcd.io/requestedAt=kubectl-1",
    ])
    .await;
    let handled = k
        .run(&[
            "wait",
            "kustomization/app-1",
            "-n",
            "apps",
            "--for=jsonpath={.status.lastHandledReconcileAt}=kubectl-1",
            "--timeout=15s",
        ])
        .await;
    assert!(handled.contains("condition met"), "{handled}");
    sim.shutdown().await;
}

#[tokio::test]
async fn kubectl_authenticates_with_the_client_certificate_kubeconfig() {
    if kubectl_path().is_none() {
        eprintln!("NOTICE: kubectl is not on PATH; skipping the kubectl test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (sim, k) = setup(dir.path(), KubeconfigAuth::ClientCert, 0).await;
    let out = k.run(&["get", "namespaces", "-o", "name"]).await;
    assert!(out.contains("namespace/apps"), "{out}");
    assert!(!sim.kubeconfig_yaml().contains("token"));
    sim.shutdown().await;
}

/// The next line of a running `kubectl ... --watch` that satisfies `want`.
async fn next_matching(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    want: impl Fn(&str) -> bool,
) -> String {
    loop {
        let line = tokio::time::timeout(T, lines.next_line())
            .await
            .expect("watch output in time")
            .unwrap()
            .expect("watch continues");
        if want(&line) {
            return line;
        }
    }
}

#[tokio::test]
async fn kubectl_lists_workloads_by_owner_label_and_watches_a_rollout() {
    if kubectl_path().is_none() {
        eprintln!("NOTICE: kubectl is not on PATH; skipping the kubectl test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (sim, k) = setup(dir.path(), KubeconfigAuth::Token, 20).await;
    let owned = sim
        .objects()
        .list("Deployment", None)
        .iter()
        .filter(|d| d["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"].is_string())
        .count();
    let label = "kustomize.toolkit.fluxcd.io/name";
    let table = k.run(&["get", "deployments", "-A", "-l", label]).await;
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("READY") && header.contains("UP-TO-DATE"),
        "{table}"
    );
    assert_eq!(
        (table.lines().count() - 1, owned > 0),
        (owned, true),
        "{table}"
    );
    assert!(table.contains("3/3"), "{table}");

    // get --watch sees a rollout start (generation 2, 1 of 3 updated) and complete.
    let jsonpath = r#"jsonpath={.metadata.generation} {.status.updatedReplicas} {.status.conditions[1].reason}{"\n"}"#;
    let mut child = k
        .command(&[
            "get",
            "deployment",
            "app-0-web",
            "-n",
            "apps",
            "--watch",
            "-o",
            jsonpath,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    next_matching(&mut lines, |l| l == "1 3 NewReplicaSetAvailable").await;
    // kubectl GETs, prints, then watches from resourceVersion 0 and skips the first event (the
    // object as it is then): a change made before its WATCH arrives is never printed.
    let counts = sim.request_counts();
    while counts.get(Verb::Watch, "deployments") == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let objects = sim.objects();
    objects
        .workload("Deployment", "apps", "app-0-web", WorkloadStep::Rollout)
        .unwrap();
    next_matching(&mut lines, |l| l == "2 1 ReplicaSetUpdated").await;
    objects
        .workload("Deployment", "apps", "app-0-web", WorkloadStep::Complete)
        .unwrap();
    next_matching(&mut lines, |l| l == "2 3 NewReplicaSetAvailable").await;
    child.kill().await.unwrap();

    // A patched image is rolled out by the simulated deployment controller.
    let patch = r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"ghcr.io/acme/app-0:7.0.0"}]"#;
    k.run(&[
        "patch",
        "deployment",
        "app-0-web",
        "-n",
        "apps",
        "--type",
        "json",
        "-p",
        patch,
    ])
    .await;
    let status = k
        .run(&[
            "rollout",
            "status",
            "deployment/app-0-web",
            "-n",
            "apps",
            "--timeout=20s",
        ])
        .await;
    assert!(status.contains("successfully rolled out"), "{status}");
    sim.shutdown().await;
}
