//! The shell against a scripted stream: it performs the lifecycle's effects in order.

use futures::stream;
use kube::api::GroupVersionKind;
use kube::core::Status;

use super::*;
use crate::clusters::failure::Cause;
use crate::flux::by_group_kind;
use crate::metrics::Metrics;

const GROUP: &str = "kustomize.toolkit.fluxcd.io";

struct Harness {
    watch: KindWatch,
    ops: mpsc::Receiver<WriteOp>,
    reports: mpsc::Receiver<WatchReport>,
    metrics: Metrics,
}

fn harness(writer_capacity: usize) -> Harness {
    let (writer, ops) = mpsc::channel(writer_capacity);
    let (reports_tx, reports) = mpsc::channel(16);
    let metrics = Metrics::default();
    let gvk = GroupVersionKind::gvk(GROUP, "v1", "Kustomization");
    // Never contacted: the scripted stream stands in for the API server.
    let config = kube::Config::new("http://127.0.0.1:9".parse().expect("a URL"));
    let watch = KindWatch {
        cluster_id: Uuid::nil(),
        target: Target::Kind(by_group_kind(GROUP, "Kustomization").expect("a Flux kind")),
        resource: ApiResource::from_gvk(&gvk),
        client: Client::try_from(config).expect("a client"),
        writer,
        reports: reports_tx,
        resync: Arc::new(Notify::new()),
        watch_timeout_secs: 60,
        lists: Arc::new(Semaphore::new(1)),
        list_metrics: ListMetrics::register(&metrics),
    };
    Harness {
        watch,
        ops,
        reports,
        metrics,
    }
}

fn object(name: &str) -> DynamicObject {
    let gvk = GroupVersionKind::gvk(GROUP, "v1", "Kustomization");
    DynamicObject::new(name, &ApiResource::from_gvk(&gvk)).within("flux-system")
}

async fn drive(h: &Harness, items: Vec<watcher::Result<Event<DynamicObject>>>) -> ControlFlow<()> {
    let mut lifecycle = Lifecycle::new(Uuid::nil(), h.watch.target, 1);
    let mut permit = None;
    let shutdown = CancellationToken::new();
    let run = h
        .watch
        .drive(stream::iter(items), &mut lifecycle, &mut permit, &shutdown);
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the stream ends")
}

fn drain<T>(rx: &mut mpsc::Receiver<T>) -> Vec<T> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

fn op_words(ops: &[WriteOp]) -> Vec<String> {
    ops.iter()
        .map(|op| match op {
            WriteOp::Upsert {
                snapshot, backstop, ..
            } => format!("upsert {} {backstop}", snapshot.name),
            WriteOp::Delete(key) => format!("delete {}", key.name),
            WriteOp::Sweep { seen, .. } => format!("sweep all but {}", seen.len()),
            WriteOp::Event { .. } => "event".into(),
        })
        .collect()
}

#[tokio::test]
async fn a_list_and_its_watch_events_reach_the_writer_and_the_supervisor_in_order() {
    let mut h = harness(16);
    let items = vec![
        Ok(Event::Init),
        Ok(Event::InitApply(object("a"))),
        Ok(Event::InitDone),
        Ok(Event::Apply(object("b"))),
        Ok(Event::Delete(object("a"))),
    ];
    assert_eq!(
        drive(&h, items).await,
        ControlFlow::Continue(()),
        "the stream ended: restart"
    );
    let ops = drain(&mut h.ops);
    assert_eq!(
        op_words(&ops),
        [
            "upsert a false",
            "sweep all but 1",
            "upsert b false",
            "delete a"
        ]
    );
    let states: Vec<Option<WatchState>> =
        drain(&mut h.reports).into_iter().map(|r| r.state).collect();
    assert_eq!(
        states,
        [
            Some(WatchState::Listing),
            Some(WatchState::Watching),
            None,
            None
        ]
    );
    assert_eq!(h.watch.lists.available_permits(), 1, "the permit went back");
    let metrics = h.metrics.render();
    assert!(
        metrics.contains("fluxo_ingest_list_seconds_count{kind=\"Kustomization\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_relist_request_cuts_a_retry_wait_short() {
    let mut h = harness(16);
    // 401: the next attempt would be a minute away.
    let status = Status::failure("no", "Unauthorized").with_code(401).boxed();
    let items = vec![Err(watcher::Error::InitialListFailed(kube::Error::Api(
        status,
    )))];
    // Notified once the shell waits (a notification stored before could restart the stream
    // instead, as a relist request does while watching).
    let resync = h.watch.resync.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        resync.notify_one();
    });
    assert_eq!(
        drive(&h, items).await,
        ControlFlow::Continue(()),
        "well before the minute"
    );
    let reports = drain(&mut h.reports);
    assert!(
        matches!(
            &reports[..],
            [WatchReport {
                state: Some(WatchState::Failing {
                    cause: Cause::Unauthorized,
                    ..
                }),
                ..
            }]
        ),
        "{reports:?}"
    );
}

#[tokio::test]
async fn the_watch_stops_when_the_writer_is_gone() {
    let mut h = harness(1);
    h.ops.close();
    let items = vec![
        Ok(Event::Init),
        Ok(Event::InitApply(object("a"))),
        Ok(Event::InitDone),
    ];
    assert_eq!(drive(&h, items).await, ControlFlow::Break(()));
}
