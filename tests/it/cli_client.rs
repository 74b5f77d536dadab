//! The fleet CLI (`login`, `cluster add`, `get`, `reconcile`, …) run as a process against a
//! real server and simulated clusters, as a user at a terminal or a CI job runs it.

use std::process::Stdio;
use std::time::Duration;

use fluxo_sim::{FAIL_ANNOTATION, SimCluster};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use uuid::Uuid;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::{FAST_INGEST, register, sim, wait_in_sync, wait_state};
use crate::support::process::BIN;
use crate::support::raw::free_port;

const SYNC: Duration = Duration::from_secs(30);

/// What a CLI run left behind.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The CLI with a config directory of its own and none of the user's environment.
struct Cli {
    home: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("XDG_CONFIG_HOME", self.home.path())
            .env("HOME", self.home.path())
            .env_remove("FLUXO_SERVER")
            .env_remove("FLUXO_TOKEN")
            .env_remove("KUBECONFIG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = self.command(args, env).output().await.expect("run the CLI");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        run
    }

    /// Run and expect success.
    async fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let r = self.run(args, env).await;
        assert_eq!(r.code, 0, "{args:?}: {}\n{}", r.stderr, r.stdout);
        r.stdout
    }

    fn config_file(&self) -> std::path::PathBuf {
        self.home
            .path()
            .join("flux-orchestrator")
            .join("config.json")
    }
}

/// The server's cluster id for a name.
async fn cluster_id(server: &TestServer, name: &str) -> Uuid {
    let v: Value = server
        .http()
        .get(server.url("/api/v1/clusters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let found = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name);
    Uuid::parse_str(
        found.unwrap_or_else(|| panic!("cluster {name}: {v}"))["id"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

/// A server with one simulated cluster registered and in sync, and a CLI pointed at it.
struct Fleet {
    _db: TestDb,
    server: TestServer,
    sim: SimCluster,
    cli: Cli,
    /// The server's URL without the trailing `/`.
    url: String,
}

impl Fleet {
    async fn synced(name: &str) -> Fleet {
        let db = TestDb::create().await;
        let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
        server.wait_ready().await;
        let sim = sim(name, 2).await;
        let cluster = register(&server, name, &sim.kubeconfig_yaml()).await;
        wait_in_sync(&db.client().await, cluster, &sim, SYNC).await;
        let url = server.url("").trim_end_matches('/').to_string();
        Fleet {
            _db: db,
            server,
            sim,
            cli: Cli::new(),
            url,
        }
    }

    /// `FLUXO_SERVER` and `FLUXO_TOKEN` for the CLI.
    fn env(&self) -> [(&str, &str); 2] {
        [
            ("FLUXO_SERVER", self.url.as_str()),
            ("FLUXO_TOKEN", self.server.token()),
        ]
    }
}

/// The first Kustomization of a simulated cluster: (namespace, name).
fn first_kustomization(sim: &SimCluster) -> (String, String) {
    let mut keys = sim.objects().keys("Kustomization");
    keys.sort();
    keys.remove(0)
}

#[tokio::test]
async fn login_saves_a_private_config_and_cluster_add_registers_a_service_account_token() {
    let db = TestDb::create().await;
    let server = TestServer::start_with(&db.url(), FAST_INGEST).await;
    server.wait_ready().await;
    let sim = sim("cli-add", 2).await;
    let cli = Cli::new();
    let url = server.url("");
    let url = url.trim_end_matches('/');

    let out = cli
        .ok(
            &["login", "--server", url],
            &[("FLUXO_TOKEN", server.token())],
        )
        .await;
    assert!(out.contains("logged in"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cli.config_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let whoami = cli.ok(&["whoami"], &[]).await;
    assert!(whoami.contains("role:    admin"), "{whoami}");

    let kubeconfig = cli.home.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig_yaml()).unwrap();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let dry = cli
        .ok(
            &[
                "cluster",
                "add",
                "cli-add",
                "--kubeconfig",
                kubeconfig,
                "--dry-run",
            ],
            &[],
        )
        .await;
    assert_eq!(dry.matches("\n---\n").count(), 3, "{dry}");
    assert!(
        sim.objects()
            .get("ServiceAccount", "kube-system", "flux-orchestrator")
            .is_none()
    );

    let add = [
        "cluster",
        "add",
        "cli-add",
        "--kubeconfig",
        kubeconfig,
        "--labels",
        "env=test,team=a",
    ];
    let out = cli.ok(&add, &[]).await;
    assert!(out.contains("cluster cli-add registered"), "{out}");
    let secret = sim
        .objects()
        .get("Secret", "kube-system", "flux-orchestrator-token")
        .expect("token Secret");
    assert!(
        secret["data"]["token"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{secret}"
    );
    let id = cluster_id(&server, "cli-add").await;
    wait_state(&server, id, "ready", SYNC).await;
    let list = cli.ok(&["cluster", "list", "-l", "env=test"], &[]).await;
    assert!(
        list.contains("cli-add") && list.contains("ready") && list.contains("env=test,team=a"),
        "{list}"
    );

    // The cluster is watched with the new token: revoking it (deleting its Secret) locks the
    // orchestrator out.
    sim.objects()
        .delete("Secret", "kube-system", "flux-orchestrator-token")
        .unwrap();
    cli.ok(&["cluster", "sync", "cli-add"], &[]).await;
    wait_state(&server, id, "unauthorized", SYNC).await;

    let unconfirmed = cli.run(&["cluster", "rm", "cli-add"], &[]).await;
    assert_ne!(
        unconfirmed.code, 0,
        "rm asks for --yes: {}",
        unconfirmed.stdout
    );
    cli.ok(&["cluster", "get", "cli-add"], &[]).await;
    cli.ok(&["cluster", "rm", "cli-add", "--yes"], &[]).await;
    let gone = cli.run(&["cluster", "get", "cli-add"], &[]).await;
    assert_eq!(gone.code, 1, "{}", gone.stdout);
    assert!(gone.stderr.contains("cli-add"), "{}", gone.stderr);
    let list = cli.ok(&["cluster", "list"], &[]).await;
    assert!(!list.contains("cli-add"), "{list}");

    for shell in ["bash", "zsh", "fish"] {
        let script = cli.ok(&["completion", shell], &[]).await;
        assert!(
            script.contains("flux-orchestrator") && script.contains("reconcile"),
            "{shell}: {script}"
        );
    }

    let out = cli.ok(&["logout"], &[]).await;
    assert!(out.contains("logged out"), "{out}");
    assert!(!cli.config_file().exists());
    let r = cli.run(&["whoami"], &[]).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("flux-orchestrator login --server URL"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn get_prints_every_output_format_and_gates_ci_on_failures() {
    let fleet = Fleet::synced("cli-get").await;
    let (sim, cli, env) = (&fleet.sim, &fleet.cli, fleet.env());
    let kustomizations = sim.objects().count("Kustomization");

    let json: Value =
        serde_json::from_str(&cli.ok(&["get", "ks", "-o", "json"], &env).await).unwrap();
    assert_eq!(json.as_array().unwrap().len(), kustomizations);
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .all(|r| r["kind"] == "Kustomization" && r["cluster"] == "cli-get")
    );
    let yaml: Value =
        serde_yaml::from_str(&cli.ok(&["get", "ks", "-o", "yaml"], &env).await).unwrap();
    assert_eq!(yaml, json);
    let table = cli.ok(&["get", "ks"], &env).await;
    let header = table.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "CLUSTER",
            "NAMESPACE",
            "NAME",
            "READY",
            "REVISION",
            "SUSPENDED",
            "MESSAGE"
        ]
    );
    assert_eq!(table.lines().count(), kustomizations + 1, "{table}");
    let wide = cli.ok(&["get", "-o", "wide"], &env).await;
    assert!(wide.lines().next().unwrap().starts_with("KIND"), "{wide}");
    assert_eq!(
        wide.lines().count(),
        sim.objects()
            .kinds()
            .iter()
            .map(|(_, k)| sim.objects().count(k))
            .sum::<usize>()
            + 1
            - sim.objects().count("Namespace")
            - sim.objects().count("Event")
    );
    let all = cli
        .ok(&["get", "--cluster", "cli-get", "-o", "json"], &env)
        .await;
    let all: Value = serde_json::from_str(&all).unwrap();
    assert_eq!(all.as_array().unwrap().len() + 1, wide.lines().count());
    let none = cli.run(&["get", "-l", "env=nowhere"], &env).await;
    assert_eq!(
        (none.code, none.stdout.as_str()),
        (0, ""),
        "{}",
        none.stderr
    );

    let (ns, name) = first_kustomization(sim);
    let (ns, name) = (ns.as_str(), name.as_str());
    let before = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name && r["namespace"] == ns)
        .unwrap();
    let one = ["get", "ks", name, "-n", ns, "--fail-on", "failed"];
    if before["health"] == "ready" {
        assert_eq!(cli.run(&one, &env).await.code, 0);
    }
    // A pinned outcome applies from the next reconciliation, which `reconcile` starts.
    let pin = json!({"metadata": {"annotations": {FAIL_ANNOTATION: "HealthCheckFailed"}}});
    sim.objects()
        .patch("Kustomization", ns, name, &pin)
        .unwrap();
    cli.ok(
        &["reconcile", "ks", name, "-n", ns, "--cluster", "cli-get"],
        &env,
    )
    .await;
    let failing = || async { cli.run(&one, &env).await.code == 1 };
    if tokio::time::timeout(SYNC, async {
        while !failing().await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .is_err()
    {
        let r = cli
            .run(&["get", "ks", name, "-n", ns, "-o", "json"], &env)
            .await;
        panic!(
            "the gate did not trip: {}{}\n{:?}",
            r.stdout,
            r.stderr,
            sim.objects().get("Kustomization", ns, name)
        );
    }
    let gate = cli.run(&one, &env).await;
    assert!(
        gate.stderr
            .contains(&format!("1 failed: Kustomization/{ns}/{name} on cli-get")),
        "{}",
        gate.stderr
    );
    assert!(
        gate.stdout.contains(name),
        "the table is printed too: {}",
        gate.stdout
    );
}

#[tokio::test]
async fn reconcile_waits_until_handled_and_get_watch_prints_the_change() {
    let fleet = Fleet::synced("cli-act").await;
    let (sim, cli, env) = (&fleet.sim, &fleet.cli, fleet.env());
    let (ns, name) = first_kustomization(sim);

    let args = [
        "reconcile",
        "ks",
        &name,
        "-n",
        &ns,
        "--cluster",
        "cli-act",
        "--with-source",
        "--wait",
        "--timeout",
        "30s",
    ];
    let r = cli.run(&args, &env).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "✔ Kustomization/{ns}/{name} on cli-act reconciled"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("waiting for"),
        "progress on stderr: {}",
        r.stderr
    );
    let requested = sim.objects().get("Kustomization", &ns, &name).unwrap();
    let handled = requested["status"]["lastHandledReconcileAt"].clone();
    assert_eq!(
        requested["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"],
        handled
    );

    let mut watch = cli
        .command(&["get", "ks", &name, "-n", &ns, "-w"], &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let header = tokio::time::timeout(SYNC, lines.next_line())
        .await
        .unwrap()
        .unwrap();
    let Some(header) = header else {
        let out = watch.wait_with_output().await.unwrap();
        panic!("get -w ended: {}", String::from_utf8_lossy(&out.stderr));
    };
    assert!(header.starts_with("CLUSTER"), "{header}");
    let first = tokio::time::timeout(SYNC, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.contains(&name) && first.contains("True"), "{first}");
    // A pinned outcome applies from the next reconciliation, which `reconcile` starts.
    let pin = json!({"metadata": {"annotations": {FAIL_ANNOTATION: "HealthCheckFailed"}}});
    sim.objects()
        .patch("Kustomization", &ns, &name, &pin)
        .unwrap();
    cli.ok(
        &["reconcile", "ks", &name, "-n", &ns, "--cluster", "cli-act"],
        &env,
    )
    .await;
    let changed = tokio::time::timeout(SYNC, async {
        loop {
            let line = lines.next_line().await.unwrap().expect("get -w ended");
            if line.contains("False") {
                return line;
            }
        }
    })
    .await
    .expect("get -w printed the failure");
    assert!(
        changed.contains(&name) && changed.contains("cli-act"),
        "{changed}"
    );
    watch.kill().await.unwrap();

    let r = cli
        .run(
            &[
                "suspend",
                "ks",
                "--selector",
                "nothing-has-this=label",
                "--yes",
            ],
            &env,
        )
        .await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no ks matches the selector"),
        "{}",
        r.stderr
    );
    let r = cli
        .run(
            &[
                "reconcile",
                "ks",
                "--selector",
                "app.kubernetes.io/part-of=flux-sim",
                "--cluster",
                "cli-act",
            ],
            &env,
        )
        .await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("pass --yes"),
        "several objects need a confirmation: {}",
        r.stderr
    );
}

#[tokio::test]
async fn a_bad_token_and_a_server_that_is_down_fail_with_clear_messages_and_codes() {
    let db = TestDb::create().await;
    let server = TestServer::start(&db.url()).await;
    server.wait_ready().await;
    let cli = Cli::new();
    let url = server.url("");
    let url = url.trim_end_matches('/');

    let r = cli
        .run(
            &["get", "--server", url, "--token", "fluxo_not-a-real-token"],
            &[],
        )
        .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: unauthorized: "),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "one line, no backtrace: {}",
        r.stderr
    );
    let r = cli
        .run(
            &["login", "--server", url],
            &[("FLUXO_TOKEN", "fluxo_wrong")],
        )
        .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!cli.config_file().exists(), "a refused token is not saved");

    let down = format!("http://127.0.0.1:{}", free_port());
    for args in [
        vec!["get"],
        vec!["whoami"],
        vec!["cluster", "list"],
        vec!["get", "-w"],
    ] {
        let mut args = args;
        args.extend(["--server", &down, "--token", "fluxo_x"]);
        let r = cli.run(&args, &[("RUST_BACKTRACE", "1")]).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .starts_with(&format!("error: cannot reach the server at {down}: ")),
            "{}",
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
    let r = cli.run(&["get", "--server", "ftp://x"], &[]).await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("must start with http:// or https://"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn history_tree_and_events_read_one_object_and_its_fleet() {
    let fleet = Fleet::synced("cli-read").await;
    let (sim, cli, env) = (&fleet.sim, &fleet.cli, fleet.env());
    let (ns, name) = first_kustomization(sim);
    let object = [
        "ks",
        name.as_str(),
        "-n",
        ns.as_str(),
        "--cluster",
        "cli-read",
    ];
    let pin = json!({"metadata": {"annotations": {FAIL_ANNOTATION: "HealthCheckFailed"}}});
    sim.objects()
        .patch("Kustomization", &ns, &name, &pin)
        .unwrap();
    let failed = cli
        .run(
            &[&["reconcile"], &object[..], &["--wait", "--timeout", "30s"]].concat(),
            &env,
        )
        .await;
    assert_eq!(failed.code, 1, "{}", failed.stdout);
    let history = cli.ok(&[&["history"], &object[..]].concat(), &env).await;
    let rows: Vec<&str> = history.lines().collect();
    assert!(rows[0].starts_with("SEQ"), "{history}");
    let failed_at = rows.iter().position(|r| r.contains("progressing → failed"));
    let progressing_at = rows.iter().position(|r| r.contains("ready → progressing"));
    assert!(
        failed_at.is_some() && failed_at < progressing_at,
        "newest first, the failure included: {history}"
    );
    let json_history = cli
        .ok(&[&["history"], &object[..], &["-o", "json"]].concat(), &env)
        .await;
    let changes: Vec<Value> = serde_json::from_str(&json_history).unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["healthAfter"] == "failed" && c["op"] == "upsert"),
        "{json_history}"
    );

    // Down: what the Kustomization applied; up: the source it depends on.
    let tree = cli.ok(&[&["tree"], &object[..]].concat(), &env).await;
    let root = format!("Kustomization/{ns}/{name} (failed)");
    assert_eq!(tree.lines().next(), Some(root.as_str()), "{tree}");
    assert!(
        tree.contains(&format!("── Deployment/{ns}/{name}")),
        "{tree}"
    );
    let up = cli
        .ok(&[&["tree"], &object[..], &["--up"]].concat(), &env)
        .await;
    assert_eq!(up.lines().next(), Some(root.as_str()), "{up}");
    assert!(
        up.contains("── GitRepository/") && up.contains("(ready)"),
        "{up}"
    );

    let events = cli
        .ok(
            &["events", "--cluster", "cli-read", "--type", "Warning"],
            &env,
        )
        .await;
    let line = events
        .lines()
        .find(|l| l.contains(&format!("Kustomization/{ns}/{name}")))
        .unwrap_or_else(|| panic!("the failure's event: {events}"));
    assert!(
        line.contains("Warning") && line.contains("HealthCheckFailed"),
        "{line}"
    );
    let json_events = cli
        .ok(
            &[
                "events",
                "--kind",
                "Kustomization",
                "--name",
                &name,
                "-o",
                "json",
            ],
            &env,
        )
        .await;
    let items: Vec<Value> = serde_json::from_str(&json_events).unwrap();
    assert!(!items.is_empty(), "{json_events}");
    assert!(
        items
            .iter()
            .all(|e| e["kind"] == "Kustomization" && e["name"] == name.as_str()),
        "{json_events}"
    );

    let missing = cli
        .run(
            &[
                "history",
                "ks",
                "no-such",
                "-n",
                &ns,
                "--cluster",
                "cli-read",
            ],
            &env,
        )
        .await;
    assert_eq!(missing.code, 1, "{}", missing.stdout);
    assert!(missing.stderr.contains("no-such"), "{}", missing.stderr);
    let bad_type = cli.run(&["events", "--type", "Loud"], &env).await;
    assert!(
        bad_type.code != 0 && bad_type.stderr.contains("unknown event type"),
        "{}",
        bad_type.stderr
    );
}
