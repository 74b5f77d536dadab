use super::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn cursors_of_both_directions_round_trip_and_others_are_refused() {
    for direction in [Direction::Older, Direction::Newer] {
        let c = TimelineCursor {
            direction,
            from: Position {
                at: at("2024-05-01T10:00:00.123456Z"),
                seq: 42,
            },
        };
        assert_eq!(TimelineCursor::decode(&c.encode()), Ok(c));
    }
    let other = Cursor {
        sort: "-seq".into(),
        keys: vec![KeyValue::Int(1)],
    };
    assert!(TimelineCursor::decode(&other.encode()).is_err());
    assert_eq!(TimelineCursor::decode("x"), Err(CursorError::Malformed));
}

#[test]
fn an_older_page_walks_down_from_the_cursor_within_the_range() {
    let filter = TimelineFilter {
        from: Some(at("2024-05-01T10:00:00Z")),
        to: Some(at("2024-05-01T11:00:00Z")),
        ..Default::default()
    };
    let cursor = TimelineCursor {
        direction: Direction::Older,
        from: Position {
            at: at("2024-05-01T10:30:00Z"),
            seq: 9,
        },
    };
    let (sql, params) = timeline_statement(&filter, &[], Some(&cursor), 11);
    assert!(
        sql.ends_with(
            "WHERE h.at >= $1::timestamptz AND h.at < $2::timestamptz \
             AND (h.at, h.seq) < ($3::timestamptz, $4::bigint) ORDER BY h.at DESC, h.seq DESC LIMIT $5"
        ),
        "{sql}"
    );
    assert_eq!(params.len(), 5);
}

#[test]
fn a_newer_page_walks_up_from_the_cursor() {
    let cursor = TimelineCursor {
        direction: Direction::Newer,
        from: Position {
            at: at("2024-05-01T10:30:00Z"),
            seq: 9,
        },
    };
    let (sql, _) = timeline_statement(&TimelineFilter::default(), &[], Some(&cursor), 11);
    assert!(
        sql.ends_with(
            "WHERE (h.at, h.seq) > ($1::timestamptz, $2::bigint) ORDER BY h.at, h.seq LIMIT $3"
        ),
        "{sql}"
    );
}

#[test]
fn transitions_select_health_changes_only_and_text_searches_four_columns() {
    let filter = TimelineFilter {
        becomes: vec![Health::Failed],
        was: vec![Health::Ready, Health::Progressing],
        text: Some("50%".into()),
        cluster_ids: Some(vec![Uuid::nil()]),
        ..Default::default()
    };
    let (sql, params) = timeline_statement(&filter, &[], None, 5);
    assert!(
        sql.contains(
            "WHERE h.cluster_id = $1::uuid \
             AND h.op = 'upsert' AND h.health_after = $2::text AND h.health_before IS DISTINCT FROM h.health_after \
             AND h.op IN ('upsert', 'delete') AND h.health_before = ANY($3::text[]) \
             AND h.health_before IS DISTINCT FROM h.health_after \
             AND (h.name ILIKE $4 OR h.message ILIKE $4 OR h.reason ILIKE $4 OR h.revision ILIKE $4) \
             ORDER BY h.at DESC, h.seq DESC LIMIT $5"
        ),
        "{sql}"
    );
    assert_eq!(params.len(), 5);
}

#[test]
fn a_burst_is_read_between_its_oldest_and_newest_member() {
    let (oldest, newest) = (
        Position {
            at: at("2024-05-01T10:00:00Z"),
            seq: 3,
        },
        Position {
            at: at("2024-05-01T10:00:40Z"),
            seq: 30,
        },
    );
    let filter = TimelineFilter {
        between: Some((oldest, newest)),
        ..Default::default()
    };
    let (sql, _) = timeline_statement(&filter, &[], None, 5);
    assert!(
        sql.contains(
            "WHERE (h.at, h.seq) >= ($1::timestamptz, $2::bigint) \
             AND (h.at, h.seq) <= ($3::timestamptz, $4::bigint) ORDER BY"
        ),
        "{sql}"
    );
}
