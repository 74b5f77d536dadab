//! core/v1 Events the simulated Flux controllers emit about their objects, aggregated like the
//! Kubernetes event recorder does (same reason and message → `count` + 1) and capped in number.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::fluxspec::hex_digest;
use super::meta::{self, Scope};
use super::state::Shared;

/// An event to record about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSpec {
    /// `Normal` or `Warning`.
    pub event_type: &'static str,
    /// Reason, e.g. `ReconciliationSucceeded`.
    pub reason: String,
    /// Message.
    pub message: String,
    /// Revision annotated on the event (`<group>/revision`).
    pub revision: Option<String>,
}

/// Names of created events, oldest first (written by `record`, which evicts beyond the cap).
#[derive(Debug, Default)]
pub struct EventLog(Mutex<VecDeque<(String, String)>>);

/// Record `ev` about `obj` as its controller would: a repeat of an event bumps its count, a new
/// one is created, and the oldest beyond `max_events` are deleted.
pub fn record(shared: &Shared, obj: &Value, ev: &EventSpec) {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let Some(ty) = shared.catalog.by_kind_name(kind) else {
        return;
    };
    let Some(controller) = shared.catalog.types[ty].controller else {
        return;
    };
    let md = &obj["metadata"];
    let (ns, name) = (
        md["namespace"].as_str().unwrap_or("default"),
        md["name"].as_str().unwrap_or_default(),
    );
    let event_name = format!(
        "{name}.{}",
        hex_digest(&[kind, ns, name, &ev.reason, &ev.message], 16)
    );
    let et = shared.catalog.event_type();
    let now = meta::now();
    let bumped = shared.store.update(et, ns, &event_name, Scope::Any, |e| {
        e["count"] = json!(e["count"].as_i64().unwrap_or(1) + 1);
        e["lastTimestamp"] = json!(now);
        Ok(())
    });
    if bumped.is_ok() {
        return;
    }
    let event = event_object(obj, ev, &event_name, controller, &now);
    if shared.store.create(et, event).is_ok() {
        evict_oldest(shared, ns, event_name);
    }
}

/// A core/v1 Event named `event_name` about `obj`, reported by `controller`, seen once at `now`.
fn event_object(
    obj: &Value,
    ev: &EventSpec,
    event_name: &str,
    controller: &str,
    now: &str,
) -> Value {
    let md = &obj["metadata"];
    let kind = obj["kind"].as_str().unwrap_or_default();
    let (ns, name) = (
        md["namespace"].as_str().unwrap_or("default"),
        md["name"].as_str().unwrap_or_default(),
    );
    let group = obj["apiVersion"]
        .as_str()
        .and_then(|a| a.split_once('/'))
        .map_or("", |(g, _)| g);
    let mut annotations = json!({});
    if let Some(rev) = &ev.revision {
        annotations[format!("{group}/revision")] = json!(rev);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": event_name, "namespace": ns, "annotations": annotations},
        "involvedObject": {
            "apiVersion": obj["apiVersion"], "kind": kind, "name": name, "namespace": ns,
            "uid": md["uid"], "resourceVersion": md["resourceVersion"],
        },
        "reason": ev.reason,
        "message": ev.message,
        "type": ev.event_type,
        "source": {"component": controller},
        "reportingComponent": controller,
        "reportingInstance": format!("{controller}-{}", hex_digest(&[controller], 10)),
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "eventTime": null,
    })
}

/// Note the created event `(ns, name)` and delete the oldest ones beyond `max_events`.
fn evict_oldest(shared: &Shared, ns: &str, event_name: String) {
    let evict = {
        let mut log = shared.events.0.lock().unwrap_or_else(|e| e.into_inner());
        log.push_back((ns.to_string(), event_name));
        let over = log.len().saturating_sub(shared.opts.max_events.max(1));
        log.drain(..over).collect::<Vec<_>>()
    };
    let et = shared.catalog.event_type();
    for (ens, ename) in evict {
        let _ = shared.store.delete(et, &ens, &ename);
    }
}
