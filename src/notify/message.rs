//! A grouped message: its items (one per object or cluster), its one-line summary, and the
//! bodies each sink kind receives. Pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

/// One object (or cluster) in a message, as stored in `notify_queue.item` and
/// `notify_deliveries.message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// The cluster's id.
    pub cluster_id: Uuid,
    /// The cluster's name.
    pub cluster: String,
    /// The object's id; `None` for a cluster condition.
    pub resource_id: Option<Uuid>,
    /// Kind (`Cluster` for a cluster condition).
    pub kind: String,
    /// Namespace (empty for a cluster).
    pub namespace: String,
    /// Name (the cluster's for a cluster condition).
    pub name: String,
    /// Health, or the cluster's state.
    pub health: String,
    /// Revision, if known.
    pub revision: Option<String>,
    /// Reason, if known.
    pub reason: Option<String>,
    /// Message, if known.
    pub message: Option<String>,
    /// When the failure began (the change's commit time, or when the engine saw the cluster).
    pub since: DateTime<Utc>,
    /// Link into the UI (absolute with `FLUXO_PUBLIC_URL`, else a path).
    pub url: String,
}

/// The link into the UI for an object (or a cluster's objects).
pub fn link(base: &str, resource: Option<Uuid>, cluster: &str) -> String {
    let base = base.trim_end_matches('/');
    match resource {
        Some(id) => format!("{base}/resources/{id}"),
        None => format!("{base}/resources?cluster={}", urlencoded(cluster)),
    }
}

fn urlencoded(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Most objects a summary names (the message carries every item).
const NAMED: usize = 5;

/// The verb of an action for a condition ("failed", "recovered", …).
pub fn verb(condition: &str, action: &str, after: Option<i32>) -> String {
    match (action, condition) {
        ("resolved" | "recovered", _) => "recovered".into(),
        (_, "stillFailed") => format!("still failed after {} min", after.unwrap_or(0)),
        (_, "clusterUnreachable") => "became unreachable".into(),
        (_, "clusterDegraded") => "became degraded".into(),
        (_, other) => other.to_string(),
    }
}

/// "revision main@sha1:ab12 failed on 7 clusters: prod/apps/web, …" when the items share a
/// revision, else "3 objects failed on 2 clusters: …"; clusters: "2 clusters became
/// unreachable: a, b".
pub fn summary(verb: &str, items: &[Item]) -> String {
    let mut clusters: Vec<&str> = items.iter().map(|i| i.cluster.as_str()).collect();
    clusters.sort_unstable();
    clusters.dedup();
    let n = clusters.len();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let named: Vec<String> = items.iter().take(NAMED).map(name_of).collect();
    let more = items.len().saturating_sub(NAMED);
    let list = if more > 0 {
        format!("{}, and {more} more", named.join(", "))
    } else {
        named.join(", ")
    };
    if items.iter().all(|i| i.resource_id.is_none()) {
        return format!("{} {verb}: {list}", plural(items.len(), "cluster"));
    }
    let first = items.first().and_then(|i| i.revision.as_deref());
    match first {
        Some(rev) if items.iter().all(|i| i.revision.as_deref() == Some(rev)) => {
            format!("revision {rev} {verb} on {}: {list}", plural(n, "cluster"))
        }
        _ => format!(
            "{} {verb} on {}: {list}",
            plural(items.len(), "object"),
            plural(n, "cluster")
        ),
    }
}

fn name_of(i: &Item) -> String {
    match i.resource_id {
        Some(_) => format!("{}/{}/{}/{}", i.cluster, i.kind, i.namespace, i.name),
        None => i.cluster.clone(),
    }
}

/// What a delivery carries to any sink.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The idempotency key (the same on every attempt).
    pub key: Uuid,
    /// `firing`, `resolved` or `recovered`.
    pub action: &'a str,
    /// The rule's name.
    pub rule: &'a str,
    /// The rule's condition.
    pub condition: &'a str,
    /// The sink's name.
    pub sink: &'a str,
    /// The summary line.
    pub summary: &'a str,
    /// The objects.
    pub items: &'a [Item],
    /// When the message was made (its items' group closed).
    pub at: DateTime<Utc>,
}

/// The webhook body: the test message's shape, with `type` the action.
pub fn webhook(e: &Envelope<'_>) -> Value {
    json!({
        "type": e.action,
        "id": e.key,
        "rule": e.rule,
        "condition": e.condition,
        "sink": e.sink,
        "at": e.at,
        "summary": e.summary,
        "items": e.items,
    })
}

/// How long a firing alert lasts in Alertmanager unless resolved: we do not re-send firing
/// alerts, so without an end Alertmanager would resolve them after its `resolve_timeout`.
const FIRING_FOR: chrono::Duration = chrono::Duration::hours(24);

/// The Alertmanager v2 body: one alert per item, labelled so routes and silences work; a
/// resolve sends the same labels with `endsAt` now.
pub fn alertmanager(e: &Envelope<'_>) -> Value {
    let alerts: Vec<Value> = e
        .items
        .iter()
        .map(|i| {
            let ends = match e.action {
                "firing" => e.at + FIRING_FOR,
                _ => e.at,
            };
            json!({
                "labels": {
                    "alertname": alert_name(e.condition),
                    "source": "flux-orchestrator",
                    "rule": e.rule,
                    "cluster": i.cluster,
                    "kind": i.kind,
                    "namespace": i.namespace,
                    "name": i.name,
                },
                "annotations": {
                    "summary": format!("{} {}/{}/{}: {}", i.cluster, i.kind, i.namespace, i.name, i.health),
                    "description": i.message.clone().unwrap_or_default(),
                    "revision": i.revision.clone().unwrap_or_default(),
                },
                "generatorURL": i.url,
                "startsAt": i.since,
                "endsAt": ends,
            })
        })
        .collect();
    Value::Array(alerts)
}

fn alert_name(condition: &str) -> String {
    let mut chars = condition.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase());
    format!(
        "Fluxo{}{}",
        first.map(String::from).unwrap_or_default(),
        chars.as_str()
    )
}

/// Most items a chat message lists one by one (Block Kit allows 50 blocks a message).
const CHAT_ITEMS: usize = 20;

fn item_line(i: &Item) -> String {
    let what = match i.resource_id {
        Some(_) => format!("{}/{}/{}/{}", i.cluster, i.kind, i.namespace, i.name),
        None => i.cluster.clone(),
    };
    let message = i.message.as_deref().unwrap_or_default();
    let line = format!("{what}: {} {message}", i.health);
    line.chars().take(300).collect()
}

fn heading(e: &Envelope<'_>) -> String {
    let title = match e.action {
        "firing" => format!("Firing: {}", e.rule),
        "test" => "Test message".to_string(),
        other => format!("{}{}: {}", other[..1].to_uppercase(), &other[1..], e.rule),
    };
    title.chars().take(150).collect()
}

/// A Slack incoming webhook's body: `text` (the notification's fallback) and Block Kit
/// blocks — a header, the summary, one section per item (up to [`CHAT_ITEMS`]) with its link.
pub fn slack(e: &Envelope<'_>) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": heading(e)}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(e.summary, 3000)}}),
    ];
    for i in e.items.iter().take(CHAT_ITEMS) {
        let text = if i.url.starts_with("http") {
            format!("<{}|{}>", i.url, item_line(i))
        } else {
            item_line(i)
        };
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
    }
    let more = e.items.len().saturating_sub(CHAT_ITEMS);
    if more > 0 {
        let text = format!("and {more} more");
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}));
    }
    json!({"text": clip(e.summary, 3000), "blocks": blocks})
}

/// A Teams workflow webhook's body: a message with one Adaptive Card (1.4): the heading, the
/// summary, a fact per item (up to [`CHAT_ITEMS`]), and a link to the first item when links
/// are absolute (`FLUXO_PUBLIC_URL`).
pub fn teams(e: &Envelope<'_>) -> Value {
    let facts: Vec<Value> = e
        .items
        .iter()
        .take(CHAT_ITEMS)
        .map(|i| json!({"title": format!("{}/{}", i.cluster, i.name), "value": item_line(i)}))
        .collect();
    let mut body = vec![
        json!({"type": "TextBlock", "text": heading(e), "weight": "Bolder", "size": "Medium", "wrap": true}),
        json!({"type": "TextBlock", "text": e.summary, "wrap": true}),
    ];
    if !facts.is_empty() {
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    let actions: Vec<Value> = e
        .items
        .first()
        .filter(|i| i.url.starts_with("http"))
        .map(|i| json!({"type": "Action.OpenUrl", "title": "Open in flux-orchestrator", "url": i.url}))
        .into_iter()
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            },
        }],
    })
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(cluster: &str, name: &str, revision: Option<&str>) -> Item {
        Item {
            cluster_id: Uuid::nil(),
            cluster: cluster.into(),
            resource_id: Some(Uuid::from_u128(3)),
            kind: "Kustomization".into(),
            namespace: "apps".into(),
            name: name.into(),
            health: "failed".into(),
            revision: revision.map(String::from),
            reason: None,
            message: Some("boom".into()),
            since: DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            url: link("", Some(Uuid::from_u128(3)), cluster),
        }
    }

    #[test]
    fn a_shared_revision_is_named_with_the_cluster_count() {
        let items: Vec<Item> = (0..7)
            .map(|i| item(&format!("c{i}"), "web", Some("main@sha1:ab12")))
            .collect();
        let s = summary(&verb("failed", "firing", None), &items);
        assert!(
            s.starts_with(
                "revision main@sha1:ab12 failed on 7 clusters: c0/Kustomization/apps/web"
            ),
            "{s}"
        );
        assert!(s.ends_with("and 2 more"), "{s}");
    }

    #[test]
    fn mixed_revisions_count_objects_and_clusters_name_only_themselves() {
        let items = [item("a", "x", Some("r1")), item("a", "y", None)];
        let s = summary(&verb("stillFailed", "firing", Some(10)), &items);
        assert_eq!(
            s,
            "2 objects still failed after 10 min on 1 cluster: a/Kustomization/apps/x, a/Kustomization/apps/y"
        );
        let mut c = item("prod", "prod", None);
        c.resource_id = None;
        let s = summary(&verb("clusterUnreachable", "firing", None), &[c]);
        assert_eq!(s, "1 cluster became unreachable: prod");
    }

    #[test]
    fn links_are_relative_without_a_public_url() {
        assert_eq!(
            link("", Some(Uuid::nil()), "x"),
            format!("/resources/{}", Uuid::nil())
        );
        assert_eq!(
            link("https://flux.example.com/", None, "prod eu"),
            "https://flux.example.com/resources?cluster=prod%20eu"
        );
    }

    #[test]
    fn alertmanager_alerts_carry_labels_and_end_now_when_resolved() {
        let items = [item("prod", "web", Some("r"))];
        let at = items[0].since + chrono::Duration::minutes(3);
        let e = Envelope {
            key: Uuid::nil(),
            action: "resolved",
            rule: "prod-failing",
            condition: "failed",
            sink: "am",
            summary: "s",
            items: &items,
            at,
        };
        let body = alertmanager(&e);
        assert_eq!(body[0]["labels"]["alertname"], "FluxoFailed");
        assert_eq!(body[0]["labels"]["cluster"], "prod");
        assert_eq!(body[0]["endsAt"], "2026-01-01T00:03:00Z");
        let firing = alertmanager(&Envelope {
            action: "firing",
            ..e.clone()
        });
        assert_eq!(firing[0]["endsAt"], "2026-01-02T00:03:00Z");
        assert_eq!(webhook(&e)["type"], "resolved");
        assert_eq!(webhook(&e)["items"][0]["name"], "web");
    }

    #[test]
    fn slack_gets_block_kit_and_teams_an_adaptive_card() {
        let mut items: Vec<Item> = (0..25)
            .map(|i| item("prod", &format!("w{i}"), Some("r")))
            .collect();
        items[0].url = "https://flux.example.com/resources/x".into();
        let e = Envelope {
            key: Uuid::nil(),
            action: "firing",
            rule: "prod-failing",
            condition: "failed",
            sink: "chat",
            summary: "revision r failed on 1 cluster: …",
            items: &items,
            at: items[0].since,
        };
        let s = slack(&e);
        let blocks = s["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["text"], "Firing: prod-failing");
        assert_eq!(blocks.len(), 2 + CHAT_ITEMS + 1);
        assert!(
            blocks[2]["text"]["text"]
                .as_str()
                .unwrap()
                .starts_with("<https://flux.example.com/resources/x|prod/Kustomization/apps/w0")
        );
        assert_eq!(blocks.last().unwrap()["elements"][0]["text"], "and 5 more");
        assert_eq!(s["text"], e.summary);
        let t = teams(&e);
        let card = &t["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(
            card["content"]["body"][2]["facts"]
                .as_array()
                .unwrap()
                .len(),
            CHAT_ITEMS
        );
        assert_eq!(
            card["content"]["actions"][0]["url"],
            "https://flux.example.com/resources/x"
        );
        let resolved = Envelope {
            action: "resolved",
            items: &items[1..2],
            ..e
        };
        assert_eq!(
            teams(&resolved)["attachments"][0]["content"]["actions"],
            json!([])
        );
        assert_eq!(
            slack(&resolved)["blocks"][0]["text"]["text"],
            "Resolved: prod-failing"
        );
    }
}
