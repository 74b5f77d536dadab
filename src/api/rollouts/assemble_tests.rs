use super::*;

const SOURCE: &str = "GitRepository|https://github.com/acme/apps|branch=main";

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

fn id(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn consumer(n: u8, cluster: &str, health: Health, rev: &str, attempted: &str) -> ConsumerRow {
    ConsumerRow {
        source: SOURCE.into(),
        id: id(n),
        cluster_id: id(100 + cluster.len() as u8),
        cluster: cluster.into(),
        kind: "Kustomization".into(),
        namespace: "apps".into(),
        name: format!("ks-{n}"),
        health,
        revision: Some(rev.into()),
        last_attempted_revision: Some(attempted.into()),
        message: Some(format!("message of {n}")),
        since: None,
    }
}

fn apply(n: u8, rev: &str, seen: i64, applied: Option<i64>) -> ApplyRow {
    ApplyRow {
        id: id(n),
        revision: rev.into(),
        first_seen_at: t(seen),
        applied_at: applied.map(t),
    }
}

/// a, bb, ccc: A applied everywhere; B applied on a (after 10 s) and bb (after 30 s), failing
/// on ccc.
fn fleet() -> Vec<RolloutSource> {
    let consumers = vec![
        consumer(1, "a", Health::Ready, "B", "B"),
        consumer(2, "bb", Health::Ready, "B", "B"),
        consumer(3, "ccc", Health::Failed, "A", "B"),
    ];
    let applies = vec![
        apply(1, "A", 0, Some(0)),
        apply(2, "A", 0, Some(5)),
        apply(3, "A", 1, Some(20)),
        apply(1, "B", 100, Some(110)),
        apply(2, "B", 101, Some(130)),
        apply(3, "B", 102, None),
    ];
    sources(consumers, applies, 5)
}

#[test]
fn revisions_are_newest_first_with_counts_times_and_percentiles() {
    let s = fleet();
    assert_eq!(s.len(), 1);
    let s = &s[0];
    assert_eq!(
        (s.kind.as_str(), s.url.as_str(), s.reference.as_deref()),
        (
            "GitRepository",
            "https://github.com/acme/apps",
            Some("branch=main")
        )
    );
    assert_eq!((s.consumers, s.clusters, s.revisions_total), (3, 3, 2));
    assert_eq!(s.latest.as_deref(), Some("B"));
    let b = &s.revisions[0];
    assert_eq!(b.revision, "B");
    let counts = RolloutCounts {
        applied: 2,
        pending: 0,
        failing: 1,
        superseded: 0,
    };
    assert_eq!(b.counts, counts);
    assert_eq!(b.first_seen_at, t(100));
    assert_eq!(
        (b.first_applied_at, b.last_applied_at),
        (Some(t(110)), Some(t(130)))
    );
    assert_eq!((b.median_seconds, b.p90_seconds), (Some(10.0), Some(30.0)));
    let a = &s.revisions[1];
    assert_eq!(a.counts.applied, 3);
    assert_eq!((a.median_seconds, a.p90_seconds), (Some(5.0), Some(20.0)));
}

#[test]
fn each_cluster_shows_its_worst_consumer_with_the_failing_message() {
    let s = fleet();
    let b = &s[0].revisions[0];
    let states: Vec<(&str, RolloutState)> = b
        .clusters
        .iter()
        .map(|c| (c.cluster.as_str(), c.state))
        .collect();
    use RolloutState::*;
    assert_eq!(states, [("a", Applied), ("bb", Applied), ("ccc", Failing)]);
    let failing = &b.clusters[2].objects[0];
    assert_eq!(failing.message.as_deref(), Some("message of 3"));
    assert_eq!(b.clusters[0].objects[0].message, None);
    assert_eq!(b.clusters[0].objects[0].applied_at, Some(t(110)));
}

#[test]
fn a_consumer_still_on_an_older_revision_is_pending_and_one_past_it_superseded() {
    let consumers = vec![
        consumer(1, "a", Health::Ready, "C", "C"),
        consumer(2, "bb", Health::Progressing, "A", "B"),
    ];
    let applies = vec![
        apply(1, "A", 0, Some(0)),
        apply(2, "A", 0, Some(0)),
        apply(1, "C", 200, Some(200)),
        apply(2, "B", 100, None),
    ];
    let s = &sources(consumers, applies, 5)[0];
    let names: Vec<&str> = s.revisions.iter().map(|r| r.revision.as_str()).collect();
    assert_eq!(names, ["C", "B", "A"]);
    let b = &s.revisions[1];
    assert_eq!(
        b.counts,
        RolloutCounts {
            applied: 0,
            pending: 1,
            failing: 0,
            superseded: 1,
        }
    );
    assert_eq!(
        b.clusters[1].objects[0].message.as_deref(),
        Some("message of 2")
    );
    assert_eq!(s.revisions[0].counts.pending, 1);
    // Only the newest `revisions` are listed; the total counts them all.
    let consumers = vec![consumer(1, "a", Health::Ready, "C", "C")];
    let applies = vec![apply(1, "A", 0, Some(0)), apply(1, "C", 200, Some(200))];
    let s = &sources(consumers, applies, 1)[0];
    assert_eq!((s.revisions.len(), s.revisions_total), (1, 2));
}

#[test]
fn sources_split_where_the_key_changes_and_helm_charts_are_named() {
    let mut helm = consumer(9, "a", Health::Ready, "1.0.0", "1.0.0");
    helm.source = "HelmRepository|https://charts|chart=podinfo".into();
    let consumers = vec![consumer(1, "a", Health::Ready, "A", "A"), helm];
    let s = sources(consumers, vec![], 5);
    assert_eq!(s.len(), 2);
    assert_eq!(s[1].kind, "HelmRepository");
    assert_eq!(s[1].chart.as_deref(), Some("podinfo"));
    assert_eq!(s[1].reference, None);
    assert!(s[0].revisions.is_empty() && s[0].latest.is_none());
}

#[test]
fn percentiles_are_nearest_rank() {
    assert_eq!(percentile(&[], 0.5), None);
    assert_eq!(percentile(&[7.0], 0.9), Some(7.0));
    let v: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(percentile(&v, 0.5), Some(5.0));
    assert_eq!(percentile(&v, 0.9), Some(9.0));
}
