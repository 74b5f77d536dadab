//! Seeding Flux objects and events through the real write path (`Store::write_batch`), from the
//! realistic fixtures in `src/flux/fixtures`, renamed and relabelled to make many distinct rows.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use flux_orchestrator::flux::{self, FluxEvent, InvolvedObject};
use flux_orchestrator::store::{Store, WriteOp, resource_id};
use serde_json::{Value, json};
use uuid::Uuid;

/// Fixtures used as templates, with the health their snapshot has. The `unknown` template is
/// a fixture with its status stripped.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("kustomization-ready", "ready"),
    ("helmrelease-install-failed", "failed"),
    ("gitrepository-ready", "ready"),
    ("kustomization-progressing", "progressing"),
    ("helmrelease-suspended", "suspended"),
    ("ocirepository-stalled", "stalled"),
    ("kustomization-health-check-failed", "failed"),
    ("helmrelease-ready", "ready"),
    ("gitrepository-auth-failed", "failed"),
    ("kustomization-ready", "unknown"),
    ("helmrepository-ready", "ready"),
];

/// Namespaces objects are spread over.
pub const NAMESPACES: &[&str] = &["apps", "infra", "flux-system"];

/// A fixture, parsed.
pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/src/flux/fixtures/{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A copy of `template` with a new namespace, name, uid and labels (replacing the fixture's).
pub fn object(
    template: &Value,
    namespace: &str,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Value {
    let mut obj = template.clone();
    let meta = obj["metadata"].as_object_mut().expect("metadata");
    meta.insert("namespace".into(), json!(namespace));
    meta.insert("name".into(), json!(name));
    meta.insert("uid".into(), json!(Uuid::new_v4().to_string()));
    meta.insert("labels".into(), json!(labels));
    obj
}

/// One object as written, with what the API should report about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seeded {
    /// Resource id.
    pub id: Uuid,
    /// Cluster id.
    pub cluster: Uuid,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Health.
    pub health: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Message of the condition behind the health.
    pub message: Option<String>,
    /// The object written.
    pub object: Value,
}

impl Seeded {
    /// The write that stores it.
    pub fn upsert(&self) -> WriteOp {
        let snapshot = flux::snapshot(&self.object).expect("flux object");
        WriteOp::Upsert {
            cluster_id: self.cluster,
            snapshot: Box::new(snapshot),
            backstop: false,
        }
    }
}

/// The parsed templates, in [`TEMPLATES`] order (status removed for the `unknown` one).
fn templates() -> &'static [Value] {
    static PARSED: OnceLock<Vec<Value>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let parse = |(name, health): &(&str, &str)| {
            let mut template = fixture(name);
            if *health == "unknown" {
                template.as_object_mut().expect("object").remove("status");
            }
            template
        };
        TEMPLATES.iter().map(parse).collect()
    })
}

/// Object `i` of a cluster: template, namespace and labels vary with `i`.
pub fn seeded(cluster: Uuid, i: usize) -> Seeded {
    seeded_in(
        cluster,
        i,
        NAMESPACES[(i / TEMPLATES.len()) % NAMESPACES.len()],
    )
}

/// Object `i` of a cluster in `namespace`.
pub fn seeded_in(cluster: Uuid, i: usize, namespace: &str) -> Seeded {
    let health = TEMPLATES[i % TEMPLATES.len()].1;
    let mut labels =
        BTreeMap::from([("team".to_string(), ["a", "b", "c", "d"][i % 4].to_string())]);
    if !i.is_multiple_of(7) {
        labels.insert("env".into(), if i % 5 < 3 { "prod" } else { "dev" }.into());
    }
    let name = format!("app-{i:04}");
    let object = object(&templates()[i % TEMPLATES.len()], namespace, &name, &labels);
    let snapshot = flux::snapshot(&object).expect("flux object");
    assert_eq!(snapshot.health.as_str(), health, "template {i}");
    Seeded {
        id: resource_id(
            cluster,
            &snapshot.api_group,
            &snapshot.kind,
            namespace,
            &name,
        ),
        cluster,
        kind: snapshot.kind,
        namespace: namespace.into(),
        name,
        health: health.into(),
        labels,
        message: snapshot.message,
        object,
    }
}

/// Write `ops` in batches of up to 1,000, as the ingest's writer does.
pub async fn write(store: &Store, ops: &[WriteOp]) {
    for chunk in ops.chunks(1000) {
        store.write_batch(chunk).await.expect("write batch");
    }
}

/// Seed `count` objects into `cluster`; returns them.
pub async fn seed(store: &Store, cluster: Uuid, count: usize) -> Vec<Seeded> {
    let items: Vec<Seeded> = (0..count).map(|i| seeded(cluster, i)).collect();
    write(store, &items.iter().map(Seeded::upsert).collect::<Vec<_>>()).await;
    items
}

/// A controller event about `target`, last seen `minute` minutes after a fixed time.
pub fn event(target: &Seeded, uid: &str, warning: bool, minute: i64) -> WriteOp {
    let base: chrono::DateTime<chrono::Utc> = "2024-05-01T10:00:00Z".parse().expect("time");
    let snapshot = flux::snapshot(&target.object).expect("flux object");
    let event = FluxEvent {
        uid: Some(uid.to_string()),
        involved: InvolvedObject {
            api_group: snapshot.api_group,
            kind: target.kind.clone(),
            namespace: target.namespace.clone(),
            name: target.name.clone(),
            uid: None,
        },
        event_type: if warning {
            flux::EventType::Warning
        } else {
            flux::EventType::Normal
        },
        reason: Some(
            if warning {
                "HealthCheckFailed"
            } else {
                "ReconciliationSucceeded"
            }
            .into(),
        ),
        message: Some(format!("event {uid}")),
        count: 1,
        first_seen: Some(base),
        last_seen: Some(base + chrono::Duration::minutes(minute)),
        reporting_controller: Some("kustomize-controller".into()),
        revision: None,
    };
    WriteOp::Event {
        cluster_id: target.cluster,
        event: Box::new(event),
    }
}
