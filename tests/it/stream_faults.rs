//! The live stream under stress and failure: a stalled client, two servers on one database, a
//! database outage, and clients that stop answering.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio::time::Instant;
use tokio_tungstenite::MaybeTlsStream;

use crate::support::app::TestServer;
use crate::support::db::TestDb;
use crate::support::fleet::register_unreachable;
use crate::support::proxy::Proxy;
use crate::support::stream::*;

/// A Kustomization with a long message, so frames fill socket buffers quickly.
fn bulky(name: &str, rev: u64) -> Value {
    let mut k = kustomization("apps", name, !rev.is_multiple_of(3), rev);
    k["status"]["conditions"][0]["message"] = json!(format!("{rev}: {}", "x".repeat(3000)));
    k
}

/// A client whose socket buffers almost nothing, so that it blocks the server soon once it
/// stops reading.
async fn tiny_buffer_client(server: &TestServer) -> Client {
    let addr = server.base.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = MaybeTlsStream::Plain(socket.connect(addr).await.unwrap());
    let (ws, _) = tokio_tungstenite::client_async(ws_request(server), stream)
        .await
        .unwrap();
    Client { ws }
}

#[tokio::test]
async fn a_stalled_client_is_cut_off_while_another_keeps_receiving_everything_on_time() {
    let env = setup(&["--stream-send-timeout-ms", "1000", "--stream-queue", "256"]).await;
    let mut stalled = tiny_buffer_client(&env.server).await;
    let (start, _) = stalled.subscribe(None, json!({})).await;
    let mut healthy = Client::connect(&env.server).await;
    healthy.subscribe(None, json!({})).await;
    let (tx, mut committed) = tokio::sync::mpsc::unbounded_channel();
    let writer = {
        let (store, c) = (env.store.clone(), env.cluster);
        tokio::spawn(async move {
            for batch in 0..100u64 {
                let ops = (0..20)
                    .map(|i| upsert(c, &bulky(&format!("k{i}"), batch)))
                    .collect();
                let seq = write(&store, ops).await;
                tx.send((seq, Instant::now())).unwrap();
            }
        })
    };
    // The healthy client sees every batch complete within a second of its commit.
    let mut seen = Vec::new();
    let mut worst = Duration::ZERO;
    while let Some((seq, at)) = committed.recv().await {
        seen.extend(seqs(&healthy.changes_through(seq).await));
        worst = worst.max(at.elapsed());
    }
    writer.await.unwrap();
    assert_eq!(
        seen,
        all_seqs(&env.db).await,
        "the healthy client got every change in order"
    );
    assert!(
        worst < Duration::from_secs(1),
        "the healthy client lagged {worst:?} behind a commit"
    );
    // The stalled client resumes reading: what it got is a gap-free prefix, then the end.
    let mut got = Vec::new();
    let ended_with = loop {
        match stalled
            .try_next(WAIT)
            .await
            .expect("the stalled client is not left hanging")
        {
            Some(v) if v["type"] == "change" => got.push(v["seq"].as_i64().unwrap()),
            Some(v) if v["type"] == "resync" => break format!("resync {}", v["reason"]),
            Some(_) => {}
            None => break "closed".to_string(),
        }
    };
    let expected: Vec<i64> = all_seqs(&env.db)
        .await
        .into_iter()
        .filter(|s| *s > start)
        .take(got.len())
        .collect();
    eprintln!(
        "healthy: {} changes, worst {worst:?}; stalled: {} then {ended_with}",
        seen.len(),
        got.len()
    );
    assert_eq!(got, expected, "a prefix without gaps, then {ended_with}");
    assert!(
        got.len() < seen.len(),
        "the stalled client was cut off ({ended_with}) before the end"
    );
    assert!(metric(&env.server, "fluxo_live_resyncs_total{reason=\"slow\"}").await >= 1);
}

#[tokio::test]
async fn changes_reach_clients_of_both_servers_on_one_database_and_resume_across_them() {
    let db = TestDb::create().await;
    let a = start_server(&db.url(), &[]).await;
    let b = start_server(&db.url(), &[]).await;
    let cluster = register_unreachable(&a, "prod").await;
    let store = db.store();
    let mut on_a = Client::connect(&a).await;
    let mut on_b = Client::connect(&b).await;
    on_a.subscribe(None, json!({})).await;
    on_b.subscribe(None, json!({})).await;
    let first = write(
        &store,
        vec![upsert(cluster, &kustomization("apps", "one", true, 1))],
    )
    .await;
    let (from_a, from_b) = (
        on_a.changes_through(first).await,
        on_b.changes_through(first).await,
    );
    assert_eq!(seqs(&from_b), [first]);
    assert_eq!(from_a, from_b, "both servers send the same message");
    // Leave A, keep writing, resume on B from the last seq seen.
    drop(on_a);
    let mut last = first;
    for rev in 2..12 {
        last = write(
            &store,
            vec![upsert(
                cluster,
                &kustomization("apps", "one", rev % 2 == 0, rev),
            )],
        )
        .await;
    }
    let mut moved = Client::connect(&b).await;
    let (_, replayed) = moved.subscribe(Some(first), json!({})).await;
    let mut got = seqs(&replayed);
    if got.last() != Some(&last) {
        got.extend(seqs(&moved.changes_through(last).await));
    }
    assert_eq!(
        got,
        all_seqs(&db).await[1..],
        "the ten changes written while away, once each"
    );
}

#[tokio::test]
async fn the_listener_survives_a_database_outage_and_catches_up_without_gaps() {
    let db = TestDb::create().await;
    let proxy = Proxy::start(format!("{}:{}", db.host, db.port)).await;
    let via_proxy = db.url_via("127.0.0.1", proxy.addr.port());
    let server = start_server(&via_proxy, &["--db-timeout-secs", "1"]).await;
    let cluster = register_unreachable(&server, "prod").await;
    let store = db.store();
    let mut client = Client::connect(&server).await;
    client.subscribe(None, json!({})).await;
    let first = write(
        &store,
        vec![upsert(cluster, &kustomization("apps", "k", true, 0))],
    )
    .await;
    assert_eq!(seqs(&client.changes_through(first).await), [first]);

    proxy.down();
    let lost = "live listener lost the database";
    eventually("the listener to notice", async || {
        server.logs().contains(lost)
    })
    .await;
    let mut last = first;
    for rev in 1..=10 {
        last = write(
            &store,
            vec![upsert(
                cluster,
                &kustomization("apps", "k", rev % 2 == 0, rev),
            )],
        )
        .await;
    }
    proxy.up();
    let mut got = seqs(&client.changes_through(last).await);
    let live = write(
        &store,
        vec![upsert(cluster, &kustomization("apps", "k", true, 11))],
    )
    .await;
    got.extend(seqs(&client.changes_through(live).await));
    assert_eq!(
        got,
        all_seqs(&db).await[1..],
        "the ten written during the outage, then live"
    );
    let following = server
        .logs()
        .matches("live listener is following the change log")
        .count();
    assert!(following >= 2, "it reconnected");
}

#[tokio::test]
async fn a_client_that_stops_answering_is_disconnected_after_the_idle_timeout() {
    let env = setup(&[
        "--stream-heartbeat-ms",
        "100",
        "--stream-idle-timeout-ms",
        "500",
    ])
    .await;
    let mut lively = Client::connect(&env.server).await;
    lively.subscribe(None, json!({})).await;
    let mut silent = Client::connect(&env.server).await;
    silent.subscribe(None, json!({})).await;
    let server = &env.server;
    eventually("two subscribers", async || {
        metric(server, "fluxo_live_subscribers").await == 2
    })
    .await;
    // `silent` is never polled again, so it never answers a ping; `lively` keeps reading.
    let reader = tokio::spawn(async move {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(2) {
            lively.next().await;
        }
        lively
    });
    eventually("the silent client to be dropped", async || {
        metric(server, "fluxo_live_subscribers").await == 1
    })
    .await;
    let lively = reader.await.unwrap();
    drop((lively, silent));
}
