//! The Flux controllers' Kubernetes events, normalised across `core/v1` and
//! `events.k8s.io/v1` field names.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conditions::{non_empty, parse_time, str_at};
use super::kinds::{self, group_of};
use super::vocabulary::EventType;

/// The Flux object an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InvolvedObject {
    /// API group, e.g. `kustomize.toolkit.fluxcd.io`.
    pub api_group: String,
    /// Kind as the catalogue spells it.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The object's uid, when the event records it.
    pub uid: Option<String>,
}

/// One controller event, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FluxEvent {
    /// The Event object's own `metadata.uid` (with `count`, the de-duplication key).
    pub uid: Option<String>,
    /// The object the event is about.
    pub involved: InvolvedObject,
    /// `Normal` or `Warning` (an event without a type, or with one the API server would not
    /// accept, counts as `Normal`).
    pub event_type: EventType,
    /// Reason, e.g. `ReconciliationSucceeded`, `HealthCheckFailed`.
    pub reason: Option<String>,
    /// `message` (core/v1) or `note` (events.k8s.io).
    pub message: Option<String>,
    /// How many times it occurred (`series.count`, `count`, `deprecatedCount`; at least 1).
    pub count: i64,
    /// First occurrence.
    pub first_seen: Option<DateTime<Utc>>,
    /// Latest occurrence.
    pub last_seen: Option<DateTime<Utc>>,
    /// The controller that reported it, e.g. `helm-controller`.
    pub reporting_controller: Option<String>,
    /// The revision the controller attached (annotation `<flux group>/revision`).
    pub revision: Option<String>,
}

/// Whether `event` is a Kubernetes Event (core/v1 or events.k8s.io) about a Flux object:
/// its `involvedObject`/`regarding` has a Flux group and a Flux kind.
pub fn is_flux_event(event: &Value) -> bool {
    involved(event).is_some()
}

/// Normalises a Flux event; `None` when [`is_flux_event`] is false.
pub fn normalize_event(event: &Value) -> Option<FluxEvent> {
    let involved = involved(event)?;
    let first_seen = first_seen(event);
    Some(FluxEvent {
        uid: str_at(event, "/metadata/uid"),
        involved,
        event_type: str_at(event, "/type")
            .and_then(|t| t.parse().ok())
            .unwrap_or(EventType::Normal),
        reason: str_at(event, "/reason"),
        message: str_at(event, "/message").or_else(|| str_at(event, "/note")),
        count: count(event),
        last_seen: last_seen(event).or(first_seen),
        first_seen,
        reporting_controller: first_str(
            event,
            &[
                "/reportingController",
                "/reportingComponent",
                "/source/component",
                "/deprecatedSource/component",
            ],
        ),
        revision: revision_annotation(event),
    })
}

fn involved(event: &Value) -> Option<InvolvedObject> {
    if event
        .get("kind")
        .is_some_and(|k| k.as_str() != Some("Event"))
    {
        return None;
    }
    let target = event
        .get("involvedObject")
        .or_else(|| event.get("regarding"))?;
    let api_version = target.get("apiVersion").and_then(Value::as_str)?;
    let kind = target.get("kind").and_then(Value::as_str)?;
    let flux_kind = kinds::by_group_kind(group_of(api_version), kind)?;
    Some(InvolvedObject {
        api_group: flux_kind.group.to_owned(),
        kind: flux_kind.kind.to_owned(),
        namespace: non_empty(target.get("namespace"))
            .or_else(|| str_at(event, "/metadata/namespace"))
            .unwrap_or_default(),
        name: non_empty(target.get("name"))?,
        uid: non_empty(target.get("uid")),
    })
}

fn count(event: &Value) -> i64 {
    ["/series/count", "/count", "/deprecatedCount"]
        .iter()
        .filter_map(|p| event.pointer(p).and_then(Value::as_i64))
        .max()
        .unwrap_or(1)
        .max(1)
}

fn first_seen(event: &Value) -> Option<DateTime<Utc>> {
    first_time(
        event,
        &[
            "/firstTimestamp",
            "/eventTime",
            "/deprecatedFirstTimestamp",
            "/metadata/creationTimestamp",
        ],
    )
}

fn last_seen(event: &Value) -> Option<DateTime<Utc>> {
    first_time(
        event,
        &[
            "/series/lastObservedTime",
            "/lastTimestamp",
            "/deprecatedLastTimestamp",
            "/eventTime",
        ],
    )
}

fn first_time(event: &Value, pointers: &[&str]) -> Option<DateTime<Utc>> {
    pointers
        .iter()
        .find_map(|p| event.pointer(p).and_then(parse_time))
}

fn first_str(event: &Value, pointers: &[&str]) -> Option<String> {
    pointers.iter().find_map(|p| str_at(event, p))
}

/// Flux's event recorder attaches the revision as `<controller group>/revision`.
fn revision_annotation(event: &Value) -> Option<String> {
    let annotations = event.pointer("/metadata/annotations")?.as_object()?;
    annotations
        .iter()
        .filter(|(key, _)| {
            key.strip_suffix("/revision")
                .is_some_and(kinds::is_flux_group)
        })
        .find_map(|(_, value)| non_empty(Some(value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::testdata::fixture;

    #[test]
    fn core_v1_kustomization_event_is_normalised() {
        let event = normalize_event(&fixture("event-core-v1-kustomization")).expect("flux event");
        assert_eq!(event.involved.kind, "Kustomization");
        assert_eq!(event.involved.api_group, "kustomize.toolkit.fluxcd.io");
        assert_eq!(event.involved.namespace, "flux-system");
        assert_eq!(event.involved.name, "apps");
        assert_eq!(event.event_type, EventType::Warning);
        assert_eq!(event.reason.as_deref(), Some("HealthCheckFailed"));
        assert_eq!(event.count, 4);
        assert_eq!(
            event.reporting_controller.as_deref(),
            Some("kustomize-controller")
        );
        assert_eq!(
            event.revision.as_deref(),
            Some("main@sha1:0c2e8e1e0ed0b2b1d61a6f8a9b5f7e4c3d2a1b0f")
        );
        let (first, last) = (
            event.first_seen.expect("first"),
            event.last_seen.expect("last"),
        );
        assert!(first < last);
    }

    #[test]
    fn events_k8s_io_helmrelease_event_uses_note_series_and_reporting_controller() {
        let event =
            normalize_event(&fixture("event-events-k8s-io-helmrelease")).expect("flux event");
        assert_eq!(event.involved.kind, "HelmRelease");
        assert_eq!(
            event.message.as_deref(),
            Some(
                "Helm install failed for release apps/podinfo with chart podinfo@6.5.4: context deadline exceeded"
            )
        );
        assert_eq!(event.count, 3);
        assert_eq!(
            event.reporting_controller.as_deref(),
            Some("helm-controller")
        );
        assert_eq!(
            event.last_seen.map(|t| t.to_rfc3339()),
            Some("2024-05-01T10:20:00.123456+00:00".to_owned())
        );
        assert_eq!(
            event.first_seen.map(|t| t.to_rfc3339()),
            Some("2024-05-01T10:00:00.500+00:00".to_owned())
        );
    }

    #[test]
    fn pod_events_and_non_events_are_not_flux_events() {
        assert!(!is_flux_event(&fixture("event-core-v1-pod")));
        assert!(!is_flux_event(&fixture("kustomization-ready")));
        assert!(is_flux_event(&fixture("event-core-v1-kustomization")));
    }
}
