use super::*;

#[test]
fn change_pages_continue_below_the_cursor_seq_within_since_and_before() {
    let filter = ChangeFilter {
        resources: vec![Uuid::nil()],
        ops: vec!["upsert".into()],
        since: Some(10),
        before: Some(90),
        ..Default::default()
    };
    let cursor = decode_change_cursor(
        &Cursor {
            sort: "-seq".into(),
            keys: vec![KeyValue::Int(50)],
        }
        .encode(),
    )
    .unwrap();
    let (sql, params) = changes_statement(&filter, &[], Some(&cursor), 11);
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
        sort: EVENT_SORT.into(),
        keys: vec![KeyValue::Time(Some(at)), KeyValue::Int(7)],
    };
    let (sql, _) = events_statement(&EventFilter::default(), &[], Some(&timed), 5);
    assert!(
        sql.contains("WHERE (e.last_seen, e.id) < ($1::timestamptz, $2::bigint) ORDER BY"),
        "{sql}"
    );
    let untimed = Cursor {
        sort: EVENT_SORT.into(),
        keys: vec![KeyValue::Time(None), KeyValue::Int(7)],
    };
    let (sql, _) = events_statement(&EventFilter::default(), &[], Some(&untimed), 5);
    assert!(
        sql.contains("WHERE (e.last_seen IS NOT NULL OR e.id < $1::bigint) ORDER BY"),
        "{sql}"
    );
}

#[test]
fn event_filters_become_conditions() {
    let filter = EventFilter {
        clusters: vec!["prod".into()],
        names: vec!["apps".into()],
        types: vec!["Warning".into()],
        since: Some("2024-05-01T10:00:00Z".parse().unwrap()),
        ..Default::default()
    };
    let (sql, params) = events_statement(&filter, &[Uuid::nil()], None, 5);
    assert!(
        sql.contains("e.name = $2::text AND e.type = $3::text AND e.last_seen >= $4::timestamptz")
    );
    assert_eq!(params.len(), 5);
}

#[test]
fn a_change_cursor_is_not_an_event_cursor() {
    let token = Cursor {
        sort: CHANGE_SORT.into(),
        keys: vec![KeyValue::Int(1)],
    }
    .encode();
    assert!(matches!(
        decode_event_cursor(&token),
        Err(CursorError::WrongSort { .. })
    ));
}
