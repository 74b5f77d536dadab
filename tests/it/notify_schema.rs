//! Slack and Teams payloads against their schemas (`tests/fixtures/schemas/`, provenance in its
//! README): Block Kit against a schema generated from Slack's `@slack/types` plus the length
//! limits of Slack's reference, which the types carry only in comments; the Adaptive Card
//! against Microsoft's published 1.4 schema, and the Teams envelope around it by shape. The
//! receivers of `notify.rs` run the same checks on what the engine really sent.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use flux_orchestrator::notify::message::{self, Envelope, Item, link};
use jsonschema::Validator;
use serde_json::{Value, json};
use uuid::Uuid;

fn validator(file: &str) -> Validator {
    let path = format!(
        "{}/tests/fixtures/schemas/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{path}: {e}"))
}

static SLACK: LazyLock<Validator> = LazyLock::new(|| validator("slack-incoming-webhook.json"));
static CARD: LazyLock<Validator> = LazyLock::new(|| validator("adaptive-card-1.4.json"));

fn schema_errors(v: &Validator, body: &Value) -> Vec<String> {
    v.iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// Slack's documented limits for one block.
fn block_limits(i: usize, b: &Value, out: &mut Vec<String>) {
    let mut fail = |what: String| out.push(format!("blocks[{i}]: {what}"));
    if chars(&b["block_id"]) > 255 {
        fail("block_id over 255 characters".into());
    }
    match b["type"].as_str().unwrap_or_default() {
        "header"
            if b["text"]["type"] != "plain_text"
                || !(1..=150).contains(&chars(&b["text"]["text"])) =>
        {
            fail("a header's text is plain_text of 1–150 characters".into());
        }
        "section" => {
            let fields = b["fields"].as_array().map_or(0, Vec::len);
            if b["text"].is_null() && fields == 0 {
                fail("a section needs text or fields".into());
            }
            if !b["text"].is_null() && !(1..=3000).contains(&chars(&b["text"]["text"])) {
                fail("a section's text is 1–3,000 characters".into());
            }
            let long = b["fields"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| chars(&f["text"]) > 2000));
            if fields > 10 || long {
                fail("at most 10 fields of at most 2,000 characters".into());
            }
        }
        "context" if b["elements"].as_array().map_or(0, Vec::len) > 10 => {
            fail("a context block has at most 10 elements".into());
        }
        _ => {}
    }
}

/// Why a Slack incoming-webhook body is not valid Block Kit (empty: it is).
pub fn slack_errors(body: &Value) -> Vec<String> {
    let mut out = schema_errors(&SLACK, body);
    let blocks = body["blocks"].as_array().cloned().unwrap_or_default();
    if blocks.len() > 50 {
        out.push(format!("{} blocks, at most 50", blocks.len()));
    }
    for (i, b) in blocks.iter().enumerate() {
        block_limits(i, b, &mut out);
    }
    out
}

/// Why a Teams workflow webhook body is not a message with one valid Adaptive Card.
pub fn teams_errors(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if body["type"] != "message" {
        out.push("type: not \"message\"".into());
    }
    let attachments = body["attachments"].as_array().cloned().unwrap_or_default();
    if attachments.len() != 1 {
        out.push(format!("{} attachments, one expected", attachments.len()));
    }
    for (i, a) in attachments.iter().enumerate() {
        if a["contentType"] != "application/vnd.microsoft.card.adaptive" {
            out.push(format!(
                "attachments[{i}].contentType: {}",
                a["contentType"]
            ));
        }
        out.extend(
            schema_errors(&CARD, &a["content"])
                .into_iter()
                .map(|e| format!("attachments[{i}].content: {e}")),
        );
    }
    out
}

/// Fail the test, naming every error, unless the Slack body is valid.
pub fn assert_slack(body: &Value) {
    let errors = slack_errors(body);
    assert!(
        errors.is_empty(),
        "invalid Block Kit: {errors:#?}\n{body:#}"
    );
}

/// Fail the test, naming every error, unless the Teams body is valid.
pub fn assert_teams(body: &Value) {
    let errors = teams_errors(body);
    assert!(
        errors.is_empty(),
        "invalid Adaptive Card: {errors:#?}\n{body:#}"
    );
}

fn item(n: usize, base: &str, message: &str) -> Item {
    let id = Uuid::from_u128(n as u128 + 1);
    Item {
        cluster_id: Uuid::nil(),
        cluster: format!("prod-{}", n % 3),
        resource_id: (n % 5 != 4).then_some(id),
        kind: "Kustomization".into(),
        namespace: "apps".into(),
        name: format!("web-{n}"),
        health: "failed".into(),
        revision: Some("main@sha1:ab12".into()),
        reason: Some("HealthCheckFailed".into()),
        message: Some(message.into()),
        since: DateTime::<Utc>::UNIX_EPOCH,
        url: link(base, Some(id), "prod"),
    }
}

/// Every action, with 0, 1, 20 and 25 items (the "and N more" context), relative and
/// absolute links, and messages longer than any limit.
#[test]
fn every_slack_and_teams_message_the_engine_makes_matches_its_schema() {
    let long = "x".repeat(5_000);
    let summary = format!("revision main@sha1:ab12 failed on 25 clusters: {long}");
    for base in ["", "https://fluxo.example.com"] {
        for n in [0, 1, 20, 25] {
            let items: Vec<Item> = (0..n).map(|i| item(i, base, &long)).collect();
            for action in ["firing", "resolved", "recovered", "test"] {
                let rule = "r".repeat(63);
                let e = Envelope {
                    key: Uuid::nil(),
                    action,
                    rule: &rule,
                    condition: "failed",
                    sink: "chat",
                    summary: &summary,
                    items: &items,
                    at: Utc::now(),
                };
                assert_slack(&message::slack(&e));
                assert_teams(&message::teams(&e));
            }
        }
    }
}

fn a_slack_message() -> Value {
    json!({"text": "t", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Firing: r"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "summary"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "and 1 more"}]},
    ]})
}

fn a_teams_message() -> Value {
    json!({"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
        "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4",
            "body": [{"type": "TextBlock", "text": "Firing: r", "weight": "Bolder", "wrap": true},
                     {"type": "FactSet", "facts": [{"title": "prod/web", "value": "failed"}]}],
            "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://x.example/r"}]}}]})
}

/// Set `pointer` in a copy of `body` to `value` (`Value::Null`: remove it).
fn broken(body: &Value, pointer: &str, value: Value) -> Value {
    let mut copy = body.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = copy.pointer_mut(parent).unwrap();
    match (target, value) {
        (Value::Object(m), Value::Null) => drop(m.remove(key)),
        (Value::Object(m), v) => drop(m.insert(key.into(), v)),
        (Value::Array(a), v) => a[key.parse::<usize>().unwrap()] = v,
        _ => panic!("{pointer}"),
    }
    copy
}

/// The checks can fail: each of these breaks one rule of the schema or of Slack's limits.
#[test]
fn malformed_slack_and_teams_payloads_are_refused() {
    let slack = a_slack_message();
    assert_slack(&slack);
    let bad_slack = [
        ("/blocks/0/type", json!("headline")),
        ("/blocks/0/text/type", json!("mrkdwn")),
        ("/blocks/0/text/text", json!("h".repeat(151))),
        ("/blocks/1/text/text", json!("s".repeat(3_001))),
        ("/blocks/1/text", Value::Null),
        ("/blocks/1/colour", json!("red")),
        (
            "/blocks/2/elements",
            json!(vec![json!({"type": "mrkdwn", "text": "e"}); 11]),
        ),
        ("/text", Value::Null),
    ];
    for (pointer, value) in bad_slack {
        let body = broken(&slack, pointer, value);
        assert!(
            !slack_errors(&body).is_empty(),
            "{pointer} accepted: {body}"
        );
    }
    let many = json!({"text": "t", "blocks": vec![slack["blocks"][1].clone(); 51]});
    assert!(!slack_errors(&many).is_empty());
    let fields =
        json!({"type": "section", "fields": vec![json!({"type": "mrkdwn", "text": "f"}); 11]});
    assert!(!slack_errors(&broken(&slack, "/blocks/1", fields)).is_empty());
    let teams = a_teams_message();
    assert_teams(&teams);
    let card = "/attachments/0/content";
    let bad_teams = [
        ("/type".to_string(), json!("card")),
        (
            "/attachments/0/contentType".into(),
            json!("application/json"),
        ),
        (format!("{card}/type"), json!("Card")),
        (format!("{card}/body/0/type"), json!("Heading")),
        // `style` on a TextBlock is 1.5; the card says 1.4.
        (format!("{card}/body/0/style"), json!("heading")),
        (format!("{card}/body/0/weight"), json!("Heavy")),
        (format!("{card}/body/1/facts/0/title"), Value::Null),
        (format!("{card}/actions/0/url"), Value::Null),
    ];
    for (pointer, value) in bad_teams {
        let body = broken(&teams, &pointer, value);
        assert!(
            !teams_errors(&body).is_empty(),
            "{pointer} accepted: {body}"
        );
    }
}
