use super::*;

#[test]
fn change_pages_continue_below_the_cursor_seq_within_since_and_before() {
    let filter = ChangeFilter {
        subjects: Subjects::resource(Uuid::nil()),
        ops: vec![ChangeOp::Upsert],
        since: Some(10),
        before: Some(90),
    };
    let cursor = ChangeFilter::decode_cursor(
        &Cursor {
            sort: "-seq".into(),
            keys: vec![KeyValue::Int(50)],
        }
        .encode(),
    )
    .unwrap();
    let (sql, params) = history_statement(&filter, &[], Some(&cursor), 11);
    assert!(
        sql.ends_with(
            "WHERE h.resource_id = $1::uuid AND h.op = $2::text AND h.seq > $3::bigint \
             AND h.seq < $4::bigint AND h.seq < $5::bigint ORDER BY h.seq DESC LIMIT $6"
        ),
        "{sql}"
    );
    assert_eq!(params.len(), 6);
}

#[test]
fn event_pages_continue_after_timed_and_untimed_cursors() {
    let at: DateTime<Utc> = "2024-05-01T10:00:00Z".parse().unwrap();
    let timed = Cursor {
        sort: EventFilter::SORT.into(),
        keys: vec![KeyValue::Time(Some(at)), KeyValue::Int(7)],
    };
    let (sql, _) = history_statement(&EventFilter::default(), &[], Some(&timed), 5);
    assert!(
        sql.contains("WHERE (e.last_seen, e.id) < ($1::timestamptz, $2::bigint) ORDER BY"),
        "{sql}"
    );
    let untimed = Cursor {
        sort: EventFilter::SORT.into(),
        keys: vec![KeyValue::Time(None), KeyValue::Int(7)],
    };
    let (sql, _) = history_statement(&EventFilter::default(), &[], Some(&untimed), 5);
    assert!(
        sql.contains("WHERE (e.last_seen IS NOT NULL OR e.id < $1::bigint) ORDER BY"),
        "{sql}"
    );
}

#[test]
fn event_filters_become_conditions() {
    let filter = EventFilter {
        subjects: Subjects {
            clusters: vec!["prod".into()],
            names: vec!["apps".into()],
            ..Default::default()
        },
        types: vec![EventType::Warning],
        since: Some("2024-05-01T10:00:00Z".parse().unwrap()),
    };
    let (sql, params) = history_statement(&filter, &[Uuid::nil()], None, 5);
    assert!(
        sql.contains("e.name = $2::text AND e.type = $3::text AND e.last_seen >= $4::timestamptz")
    );
    assert_eq!(params.len(), 5);
}

#[test]
fn a_change_cursor_is_not_an_event_cursor() {
    let token = Cursor {
        sort: ChangeFilter::SORT.into(),
        keys: vec![KeyValue::Int(1)],
    }
    .encode();
    assert!(matches!(
        EventFilter::decode_cursor(&token),
        Err(CursorError::WrongSort { .. })
    ));
}

#[test]
fn both_lists_select_their_subjects_on_their_own_table() {
    let subjects = Subjects {
        resources: vec![Uuid::nil()],
        kinds: vec!["Kustomization".into()],
        ..Default::default()
    };
    let changes = ChangeFilter {
        subjects: subjects.clone(),
        ..Default::default()
    };
    let (sql, _) = history_statement(&changes, &[], None, 5);
    assert!(
        sql.starts_with(&format!(
            "SELECT {CHANGE_COLUMNS} FROM resource_changes h LEFT JOIN clusters c ON c.id = h.cluster_id \
             WHERE h.resource_id = $1::uuid AND h.kind = $2::text ORDER BY h.seq DESC LIMIT $3"
        )),
        "{sql}"
    );
    let events = EventFilter {
        subjects,
        ..Default::default()
    };
    let (sql, _) = history_statement(&events, &[], None, 5);
    assert!(
        sql.ends_with(
            "FROM flux_events e JOIN clusters c ON c.id = e.cluster_id \
             WHERE e.resource_id = $1::uuid AND e.kind = $2::text \
             ORDER BY e.last_seen DESC, e.id DESC LIMIT $3"
        ),
        "{sql}"
    );
}
