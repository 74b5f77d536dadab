use chrono::TimeZone;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::api::model::Health;
use crate::api::stream::messages::{PositionMessage, ResyncMessage, ResyncReasonView};
use crate::flux::{self, ChangeOp, ClusterState, EventType, KindStatus};
use crate::live::ClusterView;
use crate::live::Codec;
use crate::store::{ChangeEntry, ClusterRow, ClusterStatusRow, KindWatchStatus, ResourceRow};

fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap()
}

fn row(op: ChangeOp, before: Option<flux::Health>, after: Option<flux::Health>) -> ChangeRow {
    let entry = ChangeEntry {
        seq: 42,
        at: at(),
        cluster_id: Uuid::from_u128(1),
        cluster_name: Some("prod".into()),
        resource_id: Uuid::from_u128(2),
        api_group: "kustomize.toolkit.fluxcd.io".into(),
        kind: "Kustomization".into(),
        namespace: "flux-system".into(),
        name: "apps".into(),
        op,
        health_before: before,
        health_after: after,
        event_type: None,
        revision: Some("main@sha1:1a2b".into()),
        reason: Some("ReconciliationSucceeded".into()),
        message: Some("Applied revision".into()),
        version: (op == ChangeOp::Upsert).then(|| vec![0xab, 0x12]),
        summary: (op == ChangeOp::Upsert).then(|| "spec.interval 10m0s → 5m0s".into()),
    };
    ChangeRow {
        entry,
        resource: None,
    }
}

fn resource() -> ResourceRow {
    ResourceRow {
        id: Uuid::from_u128(2),
        cluster_id: Uuid::from_u128(1),
        cluster_name: "prod".into(),
        api_group: "kustomize.toolkit.fluxcd.io".into(),
        api_version: "v1".into(),
        kind: "Kustomization".into(),
        namespace: "flux-system".into(),
        name: "apps".into(),
        health: flux::Health::Ready,
        reason: None,
        message: None,
        revision: Some("main@sha1:1a2b".into()),
        last_attempted_revision: None,
        revision_detail: None,
        suspended: false,
        source_ref: None,
        depends_on: json!([]),
        last_handled_reconcile_at: None,
        labels: json!({"team": "core"}),
        generation: Some(1),
        observed_generation: Some(1),
        last_seq: 43,
        last_transition_at: None,
        created_at: at(),
        updated_at: at(),
        workload: None,
        workload_health: None,
    }
}

fn decode(frame: Frame) -> Value {
    serde_json::from_str(frame.as_str()).unwrap()
}

#[test]
fn an_upsert_carries_both_healths_and_the_stored_summary() {
    let mut r = row(
        ChangeOp::Upsert,
        Some(flux::Health::Failed),
        Some(flux::Health::Ready),
    );
    r.resource = Some(resource());
    let v = decode(StreamCodec.change(&r));
    assert_eq!(v["type"], "change");
    assert_eq!(v["seq"], 42);
    assert_eq!(v["op"], "upsert");
    assert_eq!(v["clusterId"], Uuid::from_u128(1).to_string());
    assert_eq!(v["cluster"], "prod");
    assert_eq!(
        (v["healthBefore"].clone(), v["healthAfter"].clone()),
        (json!("failed"), json!("ready"))
    );
    assert_eq!(v["eventType"], Value::Null);
    assert_eq!(
        (v["summary"].as_str(), v["version"].as_str()),
        (Some("spec.interval 10m0s → 5m0s"), Some("ab12")),
        "what changed travels with the change"
    );
    assert_eq!(v["at"], "2026-05-01T10:00:00+00:00");
    assert_eq!(v["resource"]["name"], "apps");
    assert_eq!(
        v["resource"]["seq"], 43,
        "the summary may be newer than the change"
    );
    assert_eq!(v["resource"]["labels"], json!({"team": "core"}));
}

#[test]
fn a_delete_has_a_null_resource_and_keeps_the_key_fields() {
    let v = decode(StreamCodec.change(&row(ChangeOp::Delete, Some(flux::Health::Ready), None)));
    assert_eq!(v["op"], "delete");
    assert_eq!(v["resource"], Value::Null);
    assert_eq!(
        (v["summary"].clone(), v["version"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(v["healthAfter"], Value::Null);
    assert_eq!(
        (
            v["kind"].as_str(),
            v["namespace"].as_str(),
            v["name"].as_str()
        ),
        (Some("Kustomization"), Some("flux-system"), Some("apps"))
    );
}

#[test]
fn an_event_reports_its_type_instead_of_health() {
    let mut event = row(ChangeOp::Event, None, None);
    event.entry.event_type = Some(EventType::Warning);
    let v = decode(StreamCodec.change(&event));
    assert_eq!(v["op"], "event");
    assert_eq!(v["eventType"], "Warning");
    assert_eq!(v["healthAfter"], Value::Null);
}

#[test]
fn cluster_messages_carry_the_registry_view_and_removal() {
    let cluster = ClusterRow {
        id: Uuid::from_u128(1),
        name: "prod".into(),
        description: String::new(),
        source: "kubeconfig".into(),
        server_url: "https://prod.example.com:6443".into(),
        context: "main".into(),
        insecure: false,
        labels: json!({}),
        created_at: at(),
        updated_at: at(),
        watch_workloads: true,
    };
    let status = ClusterStatusRow {
        cluster_id: Uuid::from_u128(1),
        state: ClusterState::Degraded,
        message: "HelmRelease: forbidden".into(),
        detail: "the server said: SECRET-BODY".into(),
        kubernetes_version: Some("v1.31.2".into()),
        flux_version: None,
        kinds: [(
            "HelmRelease".to_string(),
            KindWatchStatus {
                state: KindStatus::Forbidden,
                version: None,
                message: Some("no list".into()),
                detail: Some("SECRET-BODY".into()),
                retry_at: None,
            },
        )]
        .into(),
        last_event_at: None,
        last_resync_at: None,
        resync_drift_total: 0,
        watched_by: Some("replica-a".into()),
        updated_at: at(),
        next_retry_at: None,
    };
    let view = ClusterView {
        cluster,
        status: Some(status),
    };
    let v = decode(StreamCodec.cluster(&view, false));
    assert_eq!(
        (v["type"].as_str(), v["removed"].as_bool()),
        (Some("cluster"), Some(false))
    );
    assert_eq!(v["cluster"]["name"], "prod");
    assert_eq!(v["cluster"]["status"]["state"], "degraded");
    assert_eq!(
        v["cluster"]["status"]["kinds"]["HelmRelease"]["state"],
        "forbidden"
    );
    // The stream's frames are shared by every subscriber, viewers included: no remote text.
    assert!(!v.to_string().contains("SECRET-BODY"), "{v}");
    let removed = decode(StreamCodec.cluster(
        &ClusterView {
            status: None,
            ..view
        },
        true,
    ));
    assert_eq!(
        (removed["removed"].as_bool(), &removed["cluster"]["status"]),
        (Some(true), &Value::Null)
    );
}

#[test]
fn control_messages_encode_with_their_type() {
    let hb = decode(ServerMessage::Heartbeat(PositionMessage { seq: 7 }).encode());
    assert_eq!(hb, json!({"type": "heartbeat", "seq": 7}));
    let rs = decode(
        ServerMessage::Resync(ResyncMessage {
            reason: ResyncReasonView::TooOld,
        })
        .encode(),
    );
    assert_eq!(rs, json!({"type": "resync", "reason": "too_old"}));
}

#[test]
fn a_subscribe_message_parses_with_defaults() {
    let m = parse_client(r#"{"type":"subscribe"}"#).unwrap();
    assert_eq!((m.since, m.filter.kinds.len()), (None, 0));
    let m = parse_client(
        r#"{"type":"subscribe","since":5,"filter":{"health":["failed"],"namePrefix":"web"}}"#,
    )
    .unwrap();
    assert_eq!(
        (m.since, m.filter.health, m.filter.name_prefix.as_str()),
        (Some(5), vec![Health::Failed], "web")
    );
}

#[test]
fn malformed_client_messages_get_a_code_and_a_message() {
    let code = |text: &str| parse_client(text).map(|_| ()).unwrap_err().code;
    assert_eq!(code("{nope"), "invalid_json");
    assert_eq!(code("[1]"), "invalid_message");
    assert_eq!(code(r#"{"since":1}"#), "unknown_type");
    assert_eq!(code(r#"{"type":"unsubscribe"}"#), "unknown_type");
    assert_eq!(
        code(r#"{"type":"subscribe","since":"x"}"#),
        "invalid_message"
    );
    assert_eq!(
        code(r#"{"type":"subscribe","filter":{"namespace":["a"]}}"#),
        "invalid_message"
    );
    assert_eq!(
        code(r#"{"type":"subscribe","filter":{"health":["red"]}}"#),
        "invalid_message"
    );
    let e = parse_client(r#"{"type":"subscribe","filter":{"namespace":["a"]}}"#)
        .map(|_| ())
        .unwrap_err();
    assert!(e.message.contains("namespace"), "{}", e.message);
}
