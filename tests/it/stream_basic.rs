//! The live stream protocol against the real server and a fresh database: filters, changing
//! the subscription, replay by seq, resync, heartbeats, malformed messages, cluster messages.

use std::time::Duration;

use futures::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::stream::*;

#[tokio::test]
async fn a_subscriber_receives_only_the_changes_its_filter_matches() {
    let env = setup(&[]).await;
    let mut all = Client::connect(&env.server).await;
    let mut some = Client::connect(&env.server).await;
    all.subscribe(None, json!({})).await;
    let filter = json!({"clusters": ["prod"], "kinds": ["ks"], "namespaces": ["apps"], "namePrefix": "web-",
                        "health": ["failed"]});
    some.subscribe(None, filter).await;
    let c = env.cluster;
    let objects = [
        kustomization("apps", "web-a", false, 1),  // matches
        kustomization("apps", "web-b", true, 1),   // healthy: no
        kustomization("infra", "web-c", false, 1), // other namespace
        kustomization("apps", "api", false, 1),    // other prefix
        git_repository("apps", "web-src", 1),      // other kind
    ];
    let last = write(&env.store, objects.iter().map(|o| upsert(c, o)).collect()).await;
    // The recovery of web-a matches `failed` through its health before the change.
    let recovered = write(
        &env.store,
        vec![upsert(c, &kustomization("apps", "web-a", true, 2))],
    )
    .await;
    let everything = all.changes_through(recovered).await;
    assert_eq!(everything.len(), 6, "{everything:?}");
    let got = some.changes_through(recovered).await;
    let names: Vec<(&str, &str)> = got
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap(),
                v["healthAfter"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(names, [("web-a", "failed"), ("web-a", "ready")]);
    assert!(seqs(&got)[0] <= last && seqs(&got)[1] == recovered);
    let first = &got[0];
    assert_eq!(
        (
            first["op"].as_str(),
            first["cluster"].as_str(),
            first["kind"].as_str()
        ),
        (Some("upsert"), Some("prod"), Some("Kustomization"))
    );
    assert_eq!(
        first["resource"]["name"], "web-a",
        "the stored summary rides along: {first}"
    );
}

#[tokio::test]
async fn subscribing_again_changes_the_filter_without_losing_or_repeating_changes() {
    let env = setup(&[]).await;
    let c = env.cluster;
    let mut client = Client::connect(&env.server).await;
    client.subscribe(None, json!({"namespaces": ["a"]})).await;
    let first = write(
        &env.store,
        vec![upsert(c, &kustomization("a", "one", true, 1))],
    )
    .await;
    assert_eq!(seqs(&client.changes_through(first).await), [first]);
    // Written around the switch: the new filter applies to every change after the position the
    // old subscription had reached, which the acknowledgement reports.
    let b1 = write(
        &env.store,
        vec![upsert(c, &kustomization("b", "one", true, 1))],
    )
    .await;
    let (ack, mut got) = client.subscribe(None, json!({"namespaces": ["b"]})).await;
    assert!(ack >= first);
    let a2 = write(
        &env.store,
        vec![upsert(c, &kustomization("a", "two", true, 1))],
    )
    .await;
    let b2 = write(
        &env.store,
        vec![upsert(c, &kustomization("b", "two", true, 1))],
    )
    .await;
    got.extend(client.changes_through(b2).await);
    let after_ack: Vec<(i64, &str)> = got
        .iter()
        .filter(|v| v["type"] == "change" && v["seq"].as_i64().unwrap() > ack)
        .map(|v| (v["seq"].as_i64().unwrap(), v["namespace"].as_str().unwrap()))
        .collect();
    let expected: Vec<(i64, &str)> = [(b1, "b"), (b2, "b")]
        .into_iter()
        .filter(|(s, _)| *s > ack)
        .collect();
    assert_eq!(
        after_ack, expected,
        "a2 = {a2} is filtered out, b1 and b2 arrive once"
    );
}

#[tokio::test]
async fn resuming_after_a_disconnect_replays_exactly_the_missed_changes_while_writes_continue() {
    let env = setup(&[]).await;
    let c = env.cluster;
    let writer = {
        let store = env.store.clone();
        tokio::spawn(async move {
            let mut last = 0;
            for i in 0..300u64 {
                let ops = (0..3)
                    .map(|j| upsert(c, &kustomization("apps", &format!("k{j}"), i % 2 == 0, i)))
                    .collect();
                last = write(&store, ops).await;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            last
        })
    };
    let mut received: Vec<i64> = Vec::new();
    // Connect, read a little, drop the connection; five times, while the writer runs. Each
    // reconnect resumes after the last change received.
    for round in 0..5 {
        let mut client = Client::connect(&env.server).await;
        let since = received.last().copied().unwrap_or(0);
        let (_, replayed) = client.subscribe(Some(since), json!({})).await;
        received.extend(seqs(&replayed));
        for _ in 0..(20 + round * 7) {
            match client.try_next(Duration::from_millis(500)).await {
                Ok(Some(v)) if v["type"] == "change" => received.push(v["seq"].as_i64().unwrap()),
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
    let last = writer.await.unwrap();
    let mut client = Client::connect(&env.server).await;
    let (_, replayed) = client.subscribe(received.last().copied(), json!({})).await;
    received.extend(seqs(&replayed));
    if received.last().is_none_or(|s| *s < last) {
        received.extend(seqs(&client.changes_through(last).await));
    }
    assert_eq!(
        received,
        all_seqs(&env.db).await,
        "every change once, in order, across six connections"
    );
}

#[tokio::test]
async fn a_since_outside_the_retained_log_gets_a_resync_and_the_connection_stays_usable() {
    let env = setup(&[
        "--changes-retention-count",
        "5",
        "--changes-prune-interval-secs",
        "1",
    ])
    .await;
    let c = env.cluster;
    let mut last = 0;
    for i in 0..20 {
        last = write(
            &env.store,
            vec![upsert(c, &kustomization("apps", "k", true, i))],
        )
        .await;
    }
    let db = &env.db;
    eventually("retention to prune", async || all_seqs(db).await.len() == 5).await;
    let mut client = Client::connect(&env.server).await;
    client.send(json!({"type": "subscribe", "since": 1})).await;
    assert_eq!(
        client.next_of("resync").await,
        json!({"type": "resync", "reason": "too_old"})
    );
    client
        .send(json!({"type": "subscribe", "since": last + 1000}))
        .await;
    assert_eq!(client.next_of("resync").await["reason"], "unknown_seq");
    let (at, replayed) = client.subscribe(Some(last - 5), json!({})).await;
    assert_eq!(
        (at, seqs(&replayed)),
        (last, all_seqs(db).await),
        "the retained five replay"
    );
    assert!(metric(&env.server, "fluxo_live_resyncs_total{reason=\"too_old\"}").await >= 1);
    assert!(metric(&env.server, "fluxo_changes_pruned_total").await >= 15);
}

#[tokio::test]
async fn heartbeats_report_the_position_and_arrive_on_time() {
    let env = setup(&["--stream-heartbeat-ms", "200"]).await;
    let mut client = Client::connect(&env.server).await;
    let (start, _) = client
        .subscribe(None, json!({"namespaces": ["elsewhere"]}))
        .await;
    let seq = write(
        &env.store,
        vec![upsert(env.cluster, &kustomization("apps", "k", true, 1))],
    )
    .await;
    let started = tokio::time::Instant::now();
    let mut beats = Vec::new();
    while beats.last().is_none_or(|s| *s < seq) {
        beats.push(client.next_of("heartbeat").await["seq"].as_i64().unwrap());
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "heartbeats every 200 ms: {beats:?}"
    );
    assert!(beats.iter().all(|s| *s >= start), "{beats:?}");
    assert!(beats.windows(2).all(|w| w[0] <= w[1]), "{beats:?}");
}

#[tokio::test]
async fn malformed_messages_get_an_error_and_the_connection_keeps_working() {
    let env = setup(&[]).await;
    let mut client = Client::connect(&env.server).await;
    let cases: [(Message, &str); 6] = [
        (Message::text("{not json"), "invalid_json"),
        (Message::text(r#"{"type":"unsubscribe"}"#), "unknown_type"),
        (
            Message::text(r#"{"type":"subscribe","filter":{"namespace":["typo"]}}"#),
            "invalid_message",
        ),
        (
            Message::text(r#"{"type":"subscribe","filter":{"kinds":["Kustomizaton"]}}"#),
            "invalid_filter",
        ),
        (
            Message::text(r#"{"type":"subscribe","since":"yesterday"}"#),
            "invalid_message",
        ),
        (Message::binary(vec![1, 2, 3]), "binary_not_supported"),
    ];
    for (message, code) in cases {
        client.ws.send(message).await.unwrap();
        let e = client.next_of("error").await;
        assert_eq!(e["code"], code, "{e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    }
    client.subscribe(None, json!({})).await;
    let seq = write(
        &env.store,
        vec![upsert(env.cluster, &kustomization("apps", "k", true, 1))],
    )
    .await;
    assert_eq!(seqs(&client.changes_through(seq).await), [seq]);
    assert_eq!(
        metric(&env.server, "fluxo_live_client_errors_total").await,
        6
    );
}

#[tokio::test]
async fn cluster_status_changes_reach_subscribers_and_new_subscribers_get_the_current_status() {
    let env = setup(&[]).await;
    let filter = json!({"clusters": [env.cluster.to_string()]});
    let mut client = Client::connect(&env.server).await;
    client.subscribe(None, filter.clone()).await;
    // Ingest cannot reach the cluster's API server and says so in `cluster_status`, which
    // notifies `cluster_status`; the listener turns that into a `cluster` message.
    let has_status =
        |m: &Value| m["cluster"]["name"] == "prod" && m["cluster"]["status"]["state"].is_string();
    let m = client.next_where("cluster", has_status).await;
    assert_eq!(m["removed"], false, "{m}");
    // A new subscriber starts with the current status of every matching cluster.
    let mut late = Client::connect(&env.server).await;
    let (_, snapshot) = late.subscribe(None, filter).await;
    assert!(
        snapshot
            .iter()
            .any(|m| m["type"] == "cluster" && has_status(m)),
        "{snapshot:?}"
    );
    let url = env.server.url(&format!("/api/v1/clusters/{}", env.cluster));
    let deleted = env.server.http().delete(url).send().await.unwrap();
    assert!(deleted.status().is_success(), "{deleted:?}");
    let m = client.next_where("cluster", |m| m["removed"] == true).await;
    assert_eq!(m["cluster"]["name"], "prod");
}

#[tokio::test]
async fn a_plain_http_request_to_the_stream_gets_a_json_error() {
    let env = setup(&[]).await;
    let r = env
        .server
        .http()
        .get(env.server.url("/api/v1/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "websocket_required", "{body}");
}

/// Every message type the server sends decodes as the spec's `ServerMessage` with the Rust
/// client generated from it (crates/client, progenitor): the spec says what the server sends.
#[tokio::test]
async fn every_server_message_decodes_with_the_client_generated_from_the_spec() {
    use fluxo_client::types::ServerMessage as Generated;
    let env = setup(&["--stream-heartbeat-ms", "200"]).await;
    let mut client = Client::connect(&env.server).await;
    client.ws.send(Message::text("{not json")).await.unwrap();
    client
        .send(json!({"type": "subscribe", "since": 1_000_000}))
        .await;
    client.send(json!({"type": "subscribe"})).await;
    let mut seen = std::collections::BTreeMap::new();
    let mut wrote = false;
    while seen.len() < 6 {
        let message = client.next().await;
        let kind = message["type"].as_str().unwrap().to_string();
        let decoded: Generated = serde_json::from_value(message.clone())
            .unwrap_or_else(|e| panic!("{kind} does not decode: {e}: {message}"));
        let variant = match decoded {
            Generated::ChangeMessage(_) => "change",
            Generated::ClusterMessage(_) => "cluster",
            Generated::Subscribed(_) => "subscribed",
            Generated::Heartbeat(_) => "heartbeat",
            Generated::ResyncMessage(_) => "resync",
            Generated::StreamError(_) => "error",
        };
        assert_eq!(variant, kind, "{message}");
        if kind == "subscribed" && !wrote {
            let objects = [kustomization("apps", "k", false, 1)];
            write(
                &env.store,
                objects.iter().map(|o| upsert(env.cluster, o)).collect(),
            )
            .await;
            wrote = true;
        }
        seen.insert(kind, message);
    }
}
