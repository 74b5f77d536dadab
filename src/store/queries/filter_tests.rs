use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::*;
use crate::store::queries::selector::parse_selector;

fn row(name: &str, health: Health) -> ResourceRow {
    let at: DateTime<Utc> = "2024-05-01T10:00:00.123456Z".parse().unwrap();
    ResourceRow {
        id: Uuid::from_u128(9),
        cluster_id: Uuid::from_u128(1),
        cluster_name: "prod".into(),
        api_group: "kustomize.toolkit.fluxcd.io".into(),
        api_version: "v1".into(),
        kind: "Kustomization".into(),
        namespace: "flux-system".into(),
        name: name.into(),
        health,
        reason: None,
        message: None,
        revision: None,
        last_attempted_revision: None,
        revision_detail: None,
        suspended: false,
        source_ref: None,
        depends_on: serde_json::json!([]),
        last_handled_reconcile_at: None,
        labels: serde_json::json!({}),
        generation: None,
        observed_generation: None,
        last_seq: 1,
        last_transition_at: None,
        created_at: at,
        updated_at: at,
        workload: None,
        workload_health: None,
    }
}

#[test]
fn every_sort_name_parses_in_both_directions_and_prints_back() {
    for name in [
        "name",
        "namespace",
        "kind",
        "cluster",
        "updated",
        "health",
        "severity",
    ] {
        for text in [name.to_string(), format!("-{name}")] {
            let order = ResourceOrder::parse(&text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(order.as_string(), text);
        }
    }
    for bad in ["", "-", "Name", "--name", "+name", "updated_at", "size"] {
        assert_eq!(ResourceOrder::parse(bad), None, "{bad}");
    }
}

#[test]
fn the_health_rank_in_sql_follows_the_severity_order() {
    assert_eq!(
        HEALTH_RANK_SQL.as_str(),
        "(CASE r.health WHEN 'failed' THEN 0 WHEN 'stalled' THEN 1 WHEN 'progressing' THEN 2 \
         WHEN 'unknown' THEN 3 WHEN 'suspended' THEN 4 WHEN 'ready' THEN 5 END)"
    );
}

#[test]
fn cursors_after_a_row_carry_its_sort_keys() {
    let order = ResourceOrder::parse("-health").unwrap();
    let cursor = order.cursor_after(&row("apps", Health::Stalled));
    assert_eq!(cursor.sort, "-health");
    assert_eq!(cursor.keys[0], KeyValue::Int(1));
    assert_eq!(cursor.keys[1], KeyValue::Text("apps".into()));
    assert_eq!(
        cursor.keys.last(),
        Some(&KeyValue::Uuid(Uuid::from_u128(9)))
    );
    let decoded = Cursor::decode(&cursor.encode(), "-health", &order.key_types()).unwrap();
    assert_eq!(decoded, cursor);
}

#[test]
fn an_empty_filter_lists_every_flux_object_in_name_order() {
    let order = ResourceOrder::parse("name").unwrap();
    let (sql, params) = list_statement(&ResourceFilter::default(), &[], order, None, 101);
    assert!(
        sql.ends_with(
            "WHERE NOT r.workload ORDER BY r.name USING ~<~, r.namespace, r.kind, r.id LIMIT $1"
        ),
        "{sql}"
    );
    assert_eq!(params.len(), 1);
}

#[test]
fn every_filter_becomes_a_parameterised_condition() {
    let filter = ResourceFilter {
        clusters: vec!["prod".into()],
        kinds: vec!["Kustomization".into(), "HelmRelease".into()],
        namespaces: vec!["apps".into()],
        health: vec![Health::Failed],
        labels: parse_selector("team=a,env in (x,y),!legacy,tier!=db").unwrap(),
        text: Some("50%".into()),
        ..Default::default()
    };
    let (sql, params) = count_statement(&filter, &[Uuid::nil()], 10_000);
    let expected = "SELECT count(*) FROM (SELECT 1 FROM flux_resources r WHERE \
        NOT r.workload AND r.cluster_id = $1::uuid \
        AND r.kind = ANY($2::text[]) AND r.namespace = $3::text AND r.health = $4::text \
        AND r.labels @> $5::jsonb AND (r.labels @> $6::jsonb OR r.labels @> $7::jsonb) \
        AND NOT (r.labels ? $8::text) AND NOT (r.labels @> $9::jsonb) \
        AND (r.name ILIKE $10 OR r.message ILIKE $10) LIMIT $11) AS matching";
    assert_eq!(sql, expected);
    assert_eq!(params.len(), 11);
}

#[test]
fn a_page_after_a_cursor_continues_past_its_keys_in_the_sort_direction() {
    let order = ResourceOrder::parse("-updated").unwrap();
    let cursor = order.cursor_after(&row("apps", Health::Ready));
    let filter = ResourceFilter {
        health: vec![Health::Ready],
        ..Default::default()
    };
    let (sql, params) = list_statement(&filter, &[], order, Some(&cursor), 51);
    assert!(
        sql.ends_with(
            "WHERE NOT r.workload AND r.health = $1::text AND (r.updated_at, r.id) < ($2::timestamptz, $3::uuid) \
             ORDER BY r.updated_at DESC, r.id DESC LIMIT $4"
        ),
        "{sql}"
    );
    assert_eq!(params.len(), 4);
}

#[test]
fn workload_filters_select_the_class_owner_image_and_roll_up() {
    let owner = Uuid::from_u128(7);
    let filter = ResourceFilter {
        class: Class::Workloads,
        owners: vec![owner],
        image: Some(ImageQuery::parse(":1.25.3").unwrap()),
        ..Default::default()
    };
    let (sql, params) = count_statement(&filter, &[], 10);
    assert!(
        sql.contains(
            "WHERE r.workload AND r.owner_id = $1::uuid AND r.id IN \
             (SELECT i.resource_id FROM workload_images i WHERE i.tag = $2::text)"
        ),
        "{sql}"
    );
    assert_eq!(params.len(), 3);
    let rolled = ResourceFilter {
        workload_health: vec![Health::Failed],
        ..Default::default()
    };
    let (sql, _) = count_statement(&rolled, &[], 10);
    assert!(
        sql.contains("WHERE NOT r.workload AND r.workload_health = $1::text"),
        "{sql}"
    );
}
