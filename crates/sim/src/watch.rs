//! WATCH: a chunked stream of JSON event lines read from the type's event ring. Each event was
//! serialised once at write time; a watcher only filters and concatenates shared bytes, in
//! batches, so thousands of watchers cost no per-event serialisation.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Response};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::filter::{Filter, at_version};
use super::router::{Query, ResourceRoute};
use super::server::{Body, streaming};
use super::state::Shared;
use super::status::{ApiError, Result};
use super::store::{Change, Stored};
use super::table;

const BATCH: usize = 512;
const COALESCE: Duration = Duration::from_millis(1);

/// Everything a running watch needs.
struct Watch {
    shared: Arc<Shared>,
    route: ResourceRoute,
    filter: Filter,
    /// Events with rv ≤ cursor have been considered (sent or filtered out).
    cursor: u64,
    initial: Vec<Arc<Stored>>,
    initial_end_marker: bool,
    bookmarks: bool,
    table: bool,
    table_columns_sent: bool,
    deadline: Instant,
    notify: watch::Receiver<u64>,
    dropped: watch::Receiver<u64>,
    tx: mpsc::Sender<std::result::Result<Bytes, std::io::Error>>,
}

/// Start a watch: decide the starting point now (under the type's lock), stream in a task.
pub fn start(
    shared: Arc<Shared>,
    route: ResourceRoute,
    q: &Query,
    headers: &HeaderMap,
) -> Result<Response<Body>> {
    let filter = Filter::from_query(route.namespace.clone(), q)?;
    let rv = match q.get("resourceVersion") {
        None | Some("0") => None,
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {s:?}")))?,
        ),
    };
    let send_initial = q.flag("sendInitialEvents");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);
    let (tx, rx) = mpsc::channel(16);
    let notify = shared.store.slot(route.ty).notify.subscribe();
    let start = match rv {
        Some(n) if !send_initial => since(&shared, &route, n),
        _ => Ok(initial_objects(&shared, &route, &filter)),
    };
    let (cursor, initial) = match start {
        Ok(start) => start,
        Err(expired) => {
            // The apiserver answers 200 and reports the expiry in-stream, then closes.
            let _ = tx.try_send(Ok(Bytes::from(expired.watch_line())));
            return Ok(streaming(rx));
        }
    };
    let w = Watch {
        dropped: shared.faults.drop_watches.subscribe(),
        shared,
        route,
        filter,
        cursor,
        initial,
        initial_end_marker: send_initial,
        bookmarks: q.flag("allowWatchBookmarks"),
        table: table::wanted(headers),
        table_columns_sent: false,
        deadline: Instant::now() + Duration::from_secs(timeout),
        notify,
        tx,
    };
    tokio::spawn(w.run());
    Ok(streaming(rx))
}

/// A watch from resourceVersion `n`: no initial objects, or 410 Expired when the type's history
/// no longer reaches back to `n`.
fn since(
    shared: &Shared,
    route: &ResourceRoute,
    n: u64,
) -> std::result::Result<(u64, Vec<Arc<Stored>>), ApiError> {
    let floor = shared.store.read(route.ty).floor;
    if n < floor {
        return Err(ApiError::expired(n, floor));
    }
    Ok((n, Vec::new()))
}

/// The objects a watch without a resourceVersion (or with `sendInitialEvents`) starts with,
/// and the resourceVersion they are current at: both read under the type's lock, so no write
/// falls between them.
fn initial_objects(
    shared: &Shared,
    route: &ResourceRoute,
    filter: &Filter,
) -> (u64, Vec<Arc<Stored>>) {
    let st = shared.store.read(route.ty);
    let objects = st
        .objects
        .iter()
        .filter(|(k, o)| filter.matches(&k.0, &k.1, &o.labels, &o.bytes))
        .map(|(_, o)| o.clone())
        .collect();
    (shared.store.current_rv(), objects)
}

enum Step {
    Continue,
    Stop,
}

impl Watch {
    async fn run(mut self) {
        if let Step::Stop = self.send_initial().await {
            return;
        }
        let mut tick = tokio::time::interval(self.shared.opts.bookmark_interval);
        tick.tick().await;
        let shutdown = self.shared.shutdown.clone();
        loop {
            if let Step::Stop = self.drain().await {
                return;
            }
            tokio::select! {
                r = self.notify.changed() => {
                    if r.is_err() {
                        return;
                    }
                    // Let a burst accumulate: one chunk of many events costs the client and the
                    // TLS layer far less than many chunks of one (adds ≤ 1 ms of latency).
                    tokio::time::sleep(COALESCE).await;
                }
                _ = tick.tick(), if self.bookmarks => {
                    if let Step::Stop = self.bookmark(false).await { return }
                }
                _ = tokio::time::sleep_until(self.deadline) => return,
                _ = self.dropped.changed() => return self.abort().await,
                _ = shutdown.cancelled() => return,
                _ = self.tx.closed() => return,
            }
        }
    }

    async fn send_initial(&mut self) -> Step {
        let initial = std::mem::take(&mut self.initial);
        for chunk in initial.chunks(BATCH) {
            let mut buf = BytesMut::new();
            for obj in chunk {
                buf.extend_from_slice(&self.encode_object("ADDED", &obj.bytes));
            }
            if let Step::Stop = self.send(buf.freeze()).await {
                return Step::Stop;
            }
        }
        if self.initial_end_marker {
            return self.bookmark(true).await;
        }
        Step::Continue
    }

    /// Send every retained event after the cursor, batch by batch.
    async fn drain(&mut self) -> Step {
        loop {
            if let Some(until) = self.shared.faults.hang_deadline() {
                tokio::time::sleep_until(until).await;
            }
            self.notify.borrow_and_update();
            let batch = {
                let st = self.shared.store.read(self.route.ty);
                if self.cursor < st.evicted {
                    Err(ApiError::expired(self.cursor, st.floor))
                } else {
                    Ok(st.events_after(self.cursor, BATCH))
                }
            };
            let batch = match batch {
                Ok(b) if b.is_empty() => return Step::Continue,
                Ok(b) => b,
                Err(e) => {
                    let _ = self.send(Bytes::from(e.watch_line())).await;
                    return Step::Stop;
                }
            };
            self.cursor = batch.last().map_or(self.cursor, |c| c.rv);
            let mut buf = BytesMut::new();
            for c in &batch {
                if self.selects(c) {
                    let line = self.encode_change(c);
                    buf.extend_from_slice(&line);
                }
            }
            if !buf.is_empty()
                && let Step::Stop = self.send(buf.freeze()).await
            {
                return Step::Stop;
            }
        }
    }

    fn selects(&self, c: &Change) -> bool {
        self.filter
            .matches(&c.namespace, &c.name, &c.labels, &c.line)
    }

    fn encode_change(&mut self, c: &Change) -> Bytes {
        let rt = self.shared.store.rt(self.route.ty);
        if self.table {
            let v: Value = serde_json::from_slice(&c.line).unwrap_or_default();
            return self.table_line(c.kind.as_str(), &v["object"]);
        }
        at_version(rt, &self.route.version, &c.line).into_owned()
    }

    fn encode_object(&mut self, event_type: &str, bytes: &Bytes) -> Bytes {
        if self.table {
            let v: Value = serde_json::from_slice(bytes).unwrap_or_default();
            return self.table_line(event_type, &v);
        }
        let rt = self.shared.store.rt(self.route.ty);
        let obj = at_version(rt, &self.route.version, bytes);
        let mut line = BytesMut::with_capacity(obj.len() + 32);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(event_type.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        line.extend_from_slice(&obj);
        line.extend_from_slice(b"}\n");
        line.freeze()
    }

    fn table_line(&mut self, event_type: &str, obj: &Value) -> Bytes {
        let rt = self.shared.store.rt(self.route.ty);
        let with_columns = !std::mem::replace(&mut self.table_columns_sent, true);
        table::watch_line(rt, event_type, obj, with_columns)
    }

    /// A BOOKMARK at the newest resourceVersion, when every event of the type up to it has
    /// been considered (holding the read lock guarantees no write of the type is in flight).
    async fn bookmark(&mut self, initial_end: bool) -> Step {
        if self.table && !initial_end {
            return Step::Continue;
        }
        let rv = {
            let st = self.shared.store.read(self.route.ty);
            if st.last_rv() > self.cursor {
                return Step::Continue;
            }
            self.shared.store.current_rv()
        };
        self.cursor = self.cursor.max(rv);
        let rt = self.shared.store.rt(self.route.ty);
        let mut md = serde_json::json!({"resourceVersion": self.cursor.to_string(), "creationTimestamp": null});
        if initial_end {
            md["annotations"] = serde_json::json!({"k8s.io/initial-events-end": "true"});
        }
        let api_version = super::catalog::api_version(rt.group, &self.route.version);
        let ev = serde_json::json!({"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": api_version, "metadata": md}});
        let mut line = serde_json::to_vec(&ev).unwrap_or_default();
        line.push(b'\n');
        self.send(Bytes::from(line)).await
    }

    async fn send(&mut self, chunk: Bytes) -> Step {
        let shutdown = self.shared.shutdown.clone();
        tokio::select! {
            r = self.tx.send(Ok(chunk)) => if r.is_err() { Step::Stop } else { Step::Continue },
            _ = self.dropped.changed() => { self.abort().await; Step::Stop }
            _ = shutdown.cancelled() => Step::Stop,
            _ = tokio::time::sleep_until(self.deadline) => Step::Stop,
        }
    }

    /// Cut the stream without the terminating chunk, as a dropped connection looks.
    async fn abort(&mut self) {
        let err = std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "watch dropped by fault",
        );
        let _ = self.tx.try_send(Err(err));
    }
}
