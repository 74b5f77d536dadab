//! `deploy/compose.yaml`, the laptop evaluation, cross-checked with the binary's own settings
//! (from `--help`, so a renamed setting fails here), the Kubernetes manifests' image, the
//! Dockerfile's port, and itself: the database URL matches the PostgreSQL service, the server
//! waits for a healthy database, and the simulator only runs in the `sim` profile.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use base64::Engine;
use serde_yaml::Value;

use crate::support::files::{repo, strings};
use crate::support::process::BIN;

const IMAGE: &str = "ghcr.io/flux-orchestrator/flux-orchestrator";
/// Settings the deploy files set before the binary reads them. Each entry names the issue that
/// brings it; the test fails once the binary knows the name, so the entry gets removed.
const PENDING_SETTINGS: &[(&str, &str)] = &[];

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn compose() -> Value {
    yaml("deploy/compose.yaml")
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    let s = &compose["services"][name];
    assert!(s.is_mapping(), "compose.yaml has no service {name}");
    s
}

/// A service's environment, from either the map or the `NAME=value` list form.
fn environment(service: &Value) -> BTreeMap<String, String> {
    let env = &service["environment"];
    if let Some(list) = env.as_sequence() {
        return list
            .iter()
            .filter_map(Value::as_str)
            .map(|kv| kv.split_once('=').map_or((kv, ""), |(k, v)| (k, v)))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    }
    env.as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => serde_yaml::to_string(other)
                    .expect("scalar")
                    .trim()
                    .to_owned(),
            };
            (k.as_str().expect("string keys").to_owned(), value)
        })
        .collect()
}

fn command(service: &Value) -> Vec<String> {
    match &service["command"] {
        Value::Sequence(words) => words
            .iter()
            .map(|w| w.as_str().expect("string words").to_owned())
            .collect(),
        Value::String(line) => line.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// The long flags and environment variables a subcommand of the binary accepts, from `--help`.
fn accepted(subcommand: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = Command::new(BIN)
        .args([subcommand, "--help"])
        .output()
        .expect("run flux-orchestrator --help");
    assert!(out.status.success(), "{subcommand} --help failed");
    let help = String::from_utf8_lossy(&out.stdout);
    let env = help
        .split("[env: ")
        .skip(1)
        .map(|r| r.split(['=', ']']).next().unwrap_or("").to_owned())
        .collect();
    let flags = help
        .split_whitespace()
        .filter(|w| w.starts_with("--"))
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_owned()
        })
        .collect();
    (flags, env)
}

/// Services that run our image, with the subcommand each runs.
fn our_services(compose: &Value) -> Vec<(String, &Value, String)> {
    compose["services"]
        .as_mapping()
        .expect("services")
        .iter()
        .filter(|(_, s)| s["image"].as_str().is_some_and(|i| i.starts_with(IMAGE)))
        .map(|(name, s)| {
            let sub = command(s)
                .first()
                .cloned()
                .unwrap_or_else(|| "serve".into());
            (name.as_str().expect("name").to_owned(), s, sub)
        })
        .collect()
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {addr}"))
}

#[test]
fn the_server_runs_the_image_the_manifests_deploy() {
    let compose = compose();
    let expected = format!("{IMAGE}:{}", env!("CARGO_PKG_VERSION"));
    let deployment = yaml("deploy/kubernetes/base/deployment.yaml");
    let manifest_image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .expect("image");
    assert_eq!(
        manifest_image, expected,
        "deploy/kubernetes/base/deployment.yaml"
    );
    for overlay in ["evaluation", "external-db"] {
        let k = yaml(&format!(
            "deploy/kubernetes/overlays/{overlay}/kustomization.yaml"
        ));
        for image in k["images"].as_sequence().into_iter().flatten() {
            assert_eq!(image["name"].as_str(), Some(IMAGE), "{overlay}");
            assert_eq!(
                image["newTag"].as_str(),
                Some(env!("CARGO_PKG_VERSION")),
                "{overlay}"
            );
        }
    }
    let ours = our_services(&compose);
    let names: BTreeSet<&str> = ours.iter().map(|(n, _, _)| n.as_str()).collect();
    assert!(
        names.contains("server") && names.contains("sim"),
        "{names:?}"
    );
    for (name, s, _) in &ours {
        assert_eq!(
            s["image"].as_str(),
            Some(expected.as_str()),
            "service {name}"
        );
    }
    let build = &service(&compose, "server")["build"];
    let context = repo()
        .join("deploy")
        .join(build["context"].as_str().expect("build.context"));
    let dockerfile = context.join(build["dockerfile"].as_str().expect("build.dockerfile"));
    assert_eq!(
        dockerfile.canonicalize().ok(),
        repo().join("deploy/Dockerfile").canonicalize().ok(),
        "compose builds deploy/Dockerfile from the repository root"
    );
}

#[test]
fn the_published_port_is_the_port_the_server_listens_on() {
    let compose = compose();
    let server = service(&compose, "server");
    let listen = environment(server)
        .get("FLUXO_LISTEN")
        .cloned()
        .expect("FLUXO_LISTEN is set");
    assert!(
        listen.starts_with("0.0.0.0:"),
        "listen on the container's interfaces: {listen}"
    );
    let ports = strings(&server["ports"]);
    assert_eq!(ports.len(), 1, "{ports:?}");
    let parts: Vec<&str> = ports[0].trim_end_matches("/tcp").split(':').collect();
    let [host_ip, host_port, container_port] = parts.as_slice() else {
        panic!("publish as HOST_IP:HOST_PORT:CONTAINER_PORT: {}", ports[0]);
    };
    assert_eq!(
        *host_ip, "127.0.0.1",
        "the evaluation's dev credentials are reachable from this machine only"
    );
    assert_eq!(container_port.parse::<u16>().ok(), Some(port_of(&listen)));
    assert_eq!(port_of(&listen), 8080);
    assert_eq!(host_port.parse::<u16>().ok(), Some(8080));
}

#[test]
fn every_setting_and_flag_compose_passes_is_one_the_binary_reads() {
    let compose = compose();
    for (name, s, sub) in our_services(&compose) {
        let (flags, env) = accepted(&sub);
        assert!(!env.is_empty(), "{sub} --help lists no env names");
        for (pending, issue) in PENDING_SETTINGS {
            assert!(
                !accepted("serve").1.contains(*pending),
                "the binary reads {pending} now: remove it from PENDING_SETTINGS ({issue})"
            );
        }
        for var in environment(s).keys() {
            if var.starts_with("FLUXO_") || var == "DATABASE_URL" {
                let pending = sub == "serve" && PENDING_SETTINGS.iter().any(|(p, _)| p == var);
                assert!(
                    env.contains(var) || pending,
                    "service {name}: `{sub}` has no setting {var} (it reads {env:?})"
                );
            }
        }
        for word in command(s).iter().skip(1).filter(|w| w.starts_with("--")) {
            let flag = word.split('=').next().expect("a flag");
            assert!(
                flags.contains(flag),
                "service {name}: `{sub}` has no flag {flag} (it has {flags:?})"
            );
        }
    }
}

#[test]
fn the_server_waits_for_a_healthy_postgresql_it_can_log_in_to() {
    let compose = compose();
    let pg = service(&compose, "postgres");
    let test = strings(&pg["healthcheck"]["test"]);
    assert!(
        test.iter().any(|w| w.contains("pg_isready")),
        "a pg_isready healthcheck: {test:?}"
    );
    let server = service(&compose, "server");
    assert_eq!(
        server["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    let url = environment(server)
        .get("DATABASE_URL")
        .cloned()
        .expect("DATABASE_URL");
    let rest = url.strip_prefix("postgres://").expect("postgres:// URL");
    let (auth, rest) = rest.split_once('@').expect("user:password@");
    let (user, password) = auth.split_once(':').expect("user:password");
    let (hostport, db) = rest.split_once('/').expect("/database");
    let pg_env = environment(pg);
    assert_eq!(
        hostport, "postgres:5432",
        "the URL names the postgres service"
    );
    assert_eq!(pg_env.get("POSTGRES_USER").map(String::as_str), Some(user));
    assert_eq!(
        pg_env.get("POSTGRES_PASSWORD").map(String::as_str),
        Some(password)
    );
    assert_eq!(pg_env.get("POSTGRES_DB").map(String::as_str), Some(db));
    let key = environment(server)
        .get("FLUXO_SECRET_KEY")
        .cloned()
        .expect("FLUXO_SECRET_KEY");
    let key = base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("FLUXO_SECRET_KEY is base64");
    assert_eq!(key.len(), 32, "FLUXO_SECRET_KEY is 32 bytes");
    assert!(
        String::from_utf8_lossy(&key).contains("INSECURE"),
        "the dev key says it is insecure"
    );
}

#[test]
fn the_simulator_runs_only_in_the_sim_profile() {
    let compose = compose();
    for (name, s) in compose["services"].as_mapping().expect("services") {
        let name = name.as_str().expect("name");
        let profiles = strings(&s["profiles"]);
        if name.starts_with("sim") {
            assert_eq!(profiles, ["sim"], "service {name}");
        } else {
            assert!(profiles.is_empty(), "service {name} runs by default");
        }
    }
    let sim = service(&compose, "sim");
    let cmd = command(sim);
    assert_eq!(cmd.first().map(String::as_str), Some("sim"));
    let flag = |f: &str| {
        cmd.iter()
            .find_map(|w| w.strip_prefix(&format!("--{f}=")))
            .map(str::to_owned)
    };
    let dir = flag("kubeconfig-dir").expect("--kubeconfig-dir");
    let volume = |s: &Value, target: &str| {
        strings(&s["volumes"])
            .iter()
            .find_map(|v| {
                v.split(':')
                    .nth(1)
                    .filter(|t| *t == target)
                    .and(v.split(':').next())
            })
            .map(str::to_owned)
    };
    let shared = volume(sim, &dir).expect("the kubeconfig dir is a volume");
    let register = service(&compose, "sim-register");
    let env = environment(register);
    let mounted = env.get("KUBECONFIG_DIR").expect("KUBECONFIG_DIR");
    assert_eq!(
        volume(register, mounted),
        Some(shared),
        "the registrar reads the simulator's kubeconfigs"
    );
    assert_eq!(
        env.get("EXPECTED_CLUSTERS"),
        flag("clusters").as_ref(),
        "it waits for every cluster"
    );
    assert_eq!(
        env.get("ADMIN_TOKEN"),
        environment(service(&compose, "server")).get("FLUXO_ADMIN_TOKEN")
    );
    assert_eq!(
        env.get("SERVER_URL").map(String::as_str),
        Some("http://server:8080")
    );
    assert_eq!(
        sim["network_mode"].as_str(),
        Some("service:server"),
        "the kubeconfigs' 127.0.0.1 is the server's"
    );
}

#[test]
fn every_volume_is_declared_and_every_bind_mount_exists() {
    let compose = compose();
    let declared: BTreeSet<&str> = compose["volumes"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str())
        .collect();
    for (name, s) in compose["services"].as_mapping().expect("services") {
        for v in strings(&s["volumes"]) {
            let source = v.split(':').next().expect("source");
            if source.starts_with('.') || source.starts_with('/') {
                assert!(
                    repo().join("deploy").join(source).exists(),
                    "{name:?}: bind mount {source} does not exist"
                );
            } else {
                assert!(
                    declared.contains(source),
                    "{name:?}: volume {source} is not declared"
                );
            }
        }
    }
}

#[test]
fn our_containers_run_confined() {
    let compose = compose();
    for name in ["server", "sim", "sim-register"] {
        let s = service(&compose, name);
        assert_eq!(s["user"].as_str(), Some("65532:65532"), "{name}");
        assert_eq!(s["read_only"].as_bool(), Some(true), "{name}");
        assert_eq!(strings(&s["cap_drop"]), ["ALL"], "{name}");
        assert!(
            strings(&s["security_opt"]).contains(&"no-new-privileges:true"),
            "{name}"
        );
        assert!(s["privileged"].as_bool() != Some(true), "{name}");
    }
}

/// Names in the first column of the Configuration table of `docs/operating.md`.
fn documented_settings() -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(repo().join("docs/operating.md")).expect("docs/operating.md");
    let table = text
        .split("\n## Configuration")
        .nth(1)
        .expect("a Configuration section")
        .split("\n#")
        .next()
        .unwrap_or("");
    table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_operating_guide_documents_every_setting_the_server_reads() {
    let (_, env) = accepted("serve");
    let documented = documented_settings();
    let missing: Vec<&String> = env.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "docs/operating.md, Configuration, lacks {missing:?}"
    );
    for name in &documented {
        let pending = PENDING_SETTINGS.iter().any(|(p, _)| p == name);
        assert!(
            env.contains(name) || pending,
            "docs/operating.md documents {name}, which `serve` does not read"
        );
    }
}
