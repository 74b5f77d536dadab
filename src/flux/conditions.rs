//! Reading `status.conditions` and other fields of an untyped Kubernetes object.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One `metav1.Condition` as the Flux controllers write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type: `Ready`, `Reconciling`, `Stalled`, `Healthy`, `Released`…
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason, e.g. `HealthCheckFailed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<DateTime<Utc>>,
    /// The generation the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Condition {
    /// Whether the status is `True`.
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }

    /// Whether the status is `False`.
    pub fn is_false(&self) -> bool {
        self.status == "False"
    }
}

/// The object's `status.conditions`, skipping malformed entries.
pub fn conditions(obj: &Value) -> Vec<Condition> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(parse_condition).collect())
        .unwrap_or_default()
}

/// The condition of the given type, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

fn parse_condition(raw: &Value) -> Option<Condition> {
    Some(Condition {
        type_: raw.get("type")?.as_str()?.to_owned(),
        status: raw.get("status")?.as_str()?.to_owned(),
        reason: non_empty(raw.get("reason")),
        message: non_empty(raw.get("message")),
        last_transition_time: raw.get("lastTransitionTime").and_then(parse_time),
        observed_generation: raw.get("observedGeneration").and_then(Value::as_i64),
    })
}

/// A string field, `None` when absent, not a string or empty.
pub(crate) fn non_empty(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The string at a JSON pointer, `None` when absent or empty.
pub(crate) fn str_at(obj: &Value, pointer: &str) -> Option<String> {
    non_empty(obj.pointer(pointer))
}

/// An RFC 3339 timestamp (`metav1.Time`/`MicroTime`) as UTC.
pub(crate) fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_are_parsed_and_malformed_entries_skipped() {
        let obj = json!({"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "Succeeded", "message": "",
             "lastTransitionTime": "2024-05-01T10:00:00Z", "observedGeneration": 3},
            {"status": "False"},
            "garbage"
        ]}});
        let list = conditions(&obj);
        assert_eq!(list.len(), 1);
        let ready = find(&list, "Ready").expect("ready");
        assert!(ready.is_true());
        assert_eq!(ready.message, None);
        assert_eq!(ready.observed_generation, Some(3));
        assert_eq!(
            ready.last_transition_time.map(|t| t.to_rfc3339()),
            Some("2024-05-01T10:00:00+00:00".to_owned())
        );
    }

    #[test]
    fn objects_without_status_have_no_conditions() {
        assert!(conditions(&json!({"metadata": {"name": "x"}})).is_empty());
        assert!(conditions(&json!({"status": {"conditions": null}})).is_empty());
    }

    #[test]
    fn timestamps_with_offsets_and_fractions_become_utc() {
        let t = parse_time(&json!("2024-05-01T12:00:00.5+02:00")).expect("time");
        assert_eq!(t.to_rfc3339(), "2024-05-01T10:00:00.500+00:00");
        assert_eq!(parse_time(&json!("yesterday")), None);
    }
}
