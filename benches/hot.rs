//! Micro-benchmarks of the pure functions on the hot path of every watch event and every
//! published change (criterion):
//!
//! | group | measures | runs |
//! |-------|----------|------|
//! | `snapshot` | [`flux::snapshot`]: a Flux object normalised to a `ResourceSnapshot` | once per watch event (ingest) |
//! | `content_hash` | [`store::content_hash`] of a snapshot's sanitized object | once per upsert (the writer's no-op check) |
//! | `health` | [`flux::summarize`]: health from `spec.suspend`, conditions, generations | inside every snapshot |
//! | `filter` | [`Filter::matches`] with cluster, kind, namespace, health and name prefix set, on the log entry a published `live::ChangeItem` keeps (moved from the row read, not copied) | once per change per subscriber |
//! | `encode` | the stream's `change` frame: `StreamCodec::change`, row → JSON text | once per published change |
//! | `change_summary` | [`flux::change_summary`]: diff of the stored and the new version, one line | once per upsert that changes a stored object (the writer) |
//!
//! The objects are the unit-test fixtures in `src/flux/fixtures/` (YAML as the Flux controllers
//! write them), parsed once at setup; the change rows are built from the same objects.
//!
//! Run: `cargo bench --bench hot` (a filter narrows it: `cargo bench --bench hot -- filter/`).
//! `cargo test --bench hot` runs each benchmark once as a smoke test, which is how `make test`
//! keeps this file compiling and its set-up assertions true.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use uuid::Uuid;

use flux_orchestrator::api::stream::StreamCodec;
use flux_orchestrator::flux::{self, ChangeOp, Health, ResourceSnapshot};
use flux_orchestrator::live::{Codec, Filter};
use flux_orchestrator::store::{self, ChangeEntry, ChangeRow, ResourceRow};

/// The fixtures benchmarked: (benchmark name, YAML). A healthy object of each common kind, a
/// failing and a stalled HelmRelease (their conditions carry long messages), and a Kustomization
/// whose new generation is not yet observed.
const FIXTURES: &[(&str, &str)] = &[
    (
        "kustomization-ready",
        include_str!("../src/flux/fixtures/kustomization-ready.yaml"),
    ),
    (
        "kustomization-progressing",
        include_str!("../src/flux/fixtures/kustomization-progressing.yaml"),
    ),
    (
        "helmrelease-install-failed",
        include_str!("../src/flux/fixtures/helmrelease-install-failed.yaml"),
    ),
    (
        "helmrelease-upgrade-stalled",
        include_str!("../src/flux/fixtures/helmrelease-upgrade-stalled.yaml"),
    ),
    (
        "gitrepository-ready",
        include_str!("../src/flux/fixtures/gitrepository-ready.yaml"),
    ),
];

/// The fixtures as the JSON values a `DynamicObject` serialises to.
fn objects() -> Vec<(&'static str, Value)> {
    FIXTURES
        .iter()
        .map(|(name, yaml)| {
            let obj = serde_yaml::from_str(yaml)
                .unwrap_or_else(|e| panic!("fixture {name} is not YAML: {e}"));
            (*name, obj)
        })
        .collect()
}

fn snapshot_of(name: &str, obj: &Value) -> ResourceSnapshot {
    flux::snapshot(obj).unwrap_or_else(|e| panic!("fixture {name} does not normalise: {e}"))
}

/// The snapshot of the failing HelmRelease, the object behind the change rows.
fn failing() -> ResourceSnapshot {
    let name = "helmrelease-install-failed";
    let (_, yaml) = FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("fixture {name} is listed"));
    let obj: Value =
        serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("fixture {name} is not YAML: {e}"));
    snapshot_of(name, &obj)
}

fn bench_snapshot(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot");
    for (name, obj) in objects() {
        group.bench_function(name, |b| b.iter(|| flux::snapshot(black_box(&obj))));
    }
    group.finish();
}

fn bench_content_hash(c: &mut Criterion) {
    let mut group = c.benchmark_group("content_hash");
    for (name, obj) in objects() {
        // The writer hashes the snapshot's sanitized object, not the raw one.
        let object = snapshot_of(name, &obj).object;
        group.bench_function(name, |b| b.iter(|| store::content_hash(black_box(&object))));
    }
    group.finish();
}

fn bench_change_summary(c: &mut Criterion) {
    let sanitized = |yaml: &str| {
        let obj: Value = serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("fixture: {e}"));
        flux::sanitize(&obj)
    };
    // A realistic change (new commit, interval edit, reconcile request, inventory entry) and a
    // status-only one (the common case: a controller's status write).
    let before = sanitized(include_str!(
        "../src/flux/fixtures/kustomization-ready.yaml"
    ));
    let after = sanitized(include_str!(
        "../src/flux/fixtures/kustomization-ready-next.yaml"
    ));
    let mut status_only = before.clone();
    status_only["status"]["conditions"][0]["message"] = json!("Applied revision: main@sha1:ffff");
    let mut group = c.benchmark_group("change_summary");
    for (name, b) in [
        ("kustomization_next", &after),
        ("status_only", &status_only),
    ] {
        assert!(
            !flux::change_summary(&before, b).is_empty(),
            "{name} changes something"
        );
        group.bench_function(name, |bench| {
            bench.iter(|| flux::change_summary(black_box(&before), black_box(b)))
        });
    }
    group.finish();
}

fn bench_health(c: &mut Criterion) {
    let mut group = c.benchmark_group("health");
    for (name, obj) in objects() {
        group.bench_function(name, |b| b.iter(|| flux::summarize(black_box(&obj))));
    }
    group.finish();
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// An upsert of a HelmRelease `apps/redis` in cluster `prod`, as the listener reads it.
fn change(before: Health, after: Health) -> ChangeEntry {
    let entry = change_row(&failing(), ChangeOp::Upsert, before).entry;
    ChangeEntry {
        kind: "HelmRelease".to_owned(),
        namespace: "apps".to_owned(),
        name: "redis".to_owned(),
        health_after: Some(after),
        ..entry
    }
}

fn bench_filter(c: &mut Criterion) {
    // A dashboard watching failures of apps' releases in two clusters: every list is set, so
    // a matching change walks every clause. Kinds are given as a client would (short names).
    let filter = Filter::new(
        &strings(&["staging", "prod"]),
        &strings(&["ks", "hr"]),
        &strings(&["flux-system", "apps"]),
        &[Health::Failed, Health::Stalled],
        "re",
    )
    .unwrap_or_else(|e| panic!("the benchmark filter is refused: {e}"));
    let cases = [
        // Passes every clause; the health clause matches on `after`, the last one looked at.
        ("match", change(Health::Ready, Health::Failed), true),
        // Another cluster: refused by the first clause.
        (
            "miss_cluster",
            ChangeEntry {
                cluster_name: Some("dev".to_owned()),
                cluster_id: Uuid::from_u128(2),
                ..change(Health::Ready, Health::Failed)
            },
            false,
        ),
        // Everything but health matches: refused by the last clause, the longest miss.
        (
            "miss_health",
            change(Health::Ready, Health::Progressing),
            false,
        ),
    ];
    let mut group = c.benchmark_group("filter");
    for (name, change, expected) in cases {
        assert_eq!(
            filter.matches(&change, None),
            expected,
            "filter case {name}"
        );
        group.bench_function(name, |b| {
            b.iter(|| black_box(&filter).matches(black_box(&change), None))
        });
    }
    group.finish();
}

/// The stored row of a snapshot, as the listener reads it back with a change.
fn resource_row(s: &ResourceSnapshot) -> ResourceRow {
    let at = Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).single();
    let at = at.unwrap_or_default();
    ResourceRow {
        id: Uuid::from_u128(2),
        cluster_id: Uuid::from_u128(1),
        cluster_name: "prod".to_owned(),
        api_group: s.api_group.clone(),
        api_version: s.api_version.clone(),
        kind: s.kind.clone(),
        namespace: s.namespace.clone(),
        name: s.name.clone(),
        health: s.health,
        reason: s.reason.clone(),
        message: s.message.clone(),
        revision: s.revision.clone(),
        last_attempted_revision: s.last_attempted_revision.clone(),
        revision_detail: s.revision_detail.clone(),
        suspended: s.suspended,
        source_ref: s.source_ref.as_ref().map(|r| json!(r)),
        depends_on: json!(s.depends_on),
        last_handled_reconcile_at: s.last_handled_reconcile_at.clone(),
        labels: s
            .object
            .pointer("/metadata/labels")
            .cloned()
            .unwrap_or_else(|| json!({})),
        generation: s.generation,
        observed_generation: s.observed_generation,
        last_seq: 43,
        last_transition_at: s.last_transition_at,
        created_at: at,
        updated_at: at,
        workload: None,
        workload_health: None,
    }
}

/// The change row of `op` on the object of a snapshot; a delete has no stored row.
fn change_row(s: &ResourceSnapshot, op: ChangeOp, before: Health) -> ChangeRow {
    let resource = (op != ChangeOp::Delete).then(|| resource_row(s));
    let entry = ChangeEntry {
        seq: 42,
        at: resource.as_ref().map(|r| r.updated_at).unwrap_or_default(),
        cluster_id: Uuid::from_u128(1),
        cluster_name: Some("prod".to_owned()),
        resource_id: Uuid::from_u128(2),
        api_group: s.api_group.clone(),
        kind: s.kind.clone(),
        namespace: s.namespace.clone(),
        name: s.name.clone(),
        op,
        health_before: Some(before),
        health_after: resource.as_ref().map(|r| r.health),
        event_type: None,
        revision: s.revision.clone(),
        reason: s.reason.clone(),
        message: s.message.clone(),
        version: (op == ChangeOp::Upsert).then(|| vec![0xab; 16]),
        summary: (op == ChangeOp::Upsert).then(|| {
            "Ready True → False (InstallFailed); status.lastAttemptedRevision 6.5.3 → 6.5.4"
                .to_owned()
        }),
    };
    ChangeRow { entry, resource }
}

fn bench_encode(c: &mut Criterion) {
    let failing = failing();
    let cases = [
        // The common case: an object changed and its stored summary rides along.
        (
            "upsert",
            change_row(&failing, ChangeOp::Upsert, Health::Ready),
        ),
        // The object is gone: only the log entry.
        (
            "delete",
            change_row(&failing, ChangeOp::Delete, Health::Failed),
        ),
    ];
    let mut group = c.benchmark_group("encode");
    for (name, row) in &cases {
        let frame = StreamCodec.change(row);
        let sent: Value = serde_json::from_str(frame.as_str())
            .unwrap_or_else(|e| panic!("encode case {name} is not JSON: {e}"));
        assert_eq!(sent["type"], "change", "encode case {name}");
        group.bench_function(format!("change_{name}"), |b| {
            b.iter(|| StreamCodec.change(black_box(row)))
        });
    }
    group.finish();
}

criterion_group!(
    hot,
    bench_snapshot,
    bench_content_hash,
    bench_change_summary,
    bench_health,
    bench_filter,
    bench_encode
);
criterion_main!(hot);
