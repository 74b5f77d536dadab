//! Which revision an object has applied or produced, per kind, as the `flux` CLI shows it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conditions::{non_empty, str_at};

/// The revisions of one object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Revisions {
    /// What the object has applied or produced (the UI's "revision" column).
    pub revision: Option<String>,
    /// The revision of the last attempt, for kinds that record it (Kustomization,
    /// HelmRelease); differs from `revision` while a new revision fails.
    pub last_attempted: Option<String>,
    /// Kind-specific context for people, e.g. `podinfo@6.5.4 app 6.5.4, release
    /// apps/podinfo.v3 deployed` or `42 tags, scanned at …`.
    pub detail: Option<String>,
}

/// The revisions of an object, by kind:
/// - Kustomization: `status.lastAppliedRevision` / `lastAttemptedRevision`;
/// - sources: `status.artifact.revision`;
/// - HelmRelease: see [`helm_release`];
/// - ImagePolicy: `status.latestRef` (v1, `name:tag@digest`) or `latestImage` (v1beta2);
/// - ImageRepository: `status.lastScanResult.revision` (a hash of the tags), else the tag count;
/// - ImageUpdateAutomation: `status.lastPushCommit`;
/// - Alert, Provider, Receiver: none (a Receiver's detail is its webhook path).
pub fn revisions(obj: &Value) -> Revisions {
    match obj.get("kind").and_then(Value::as_str).unwrap_or("") {
        "Kustomization" => Revisions {
            revision: str_at(obj, "/status/lastAppliedRevision"),
            last_attempted: str_at(obj, "/status/lastAttemptedRevision"),
            detail: str_at(obj, "/status/lastAppliedOriginRevision").map(|o| format!("origin {o}")),
        },
        "GitRepository" | "HelmRepository" | "OCIRepository" | "Bucket" => Revisions {
            revision: str_at(obj, "/status/artifact/revision"),
            ..Revisions::default()
        },
        "HelmChart" => helm_chart(obj),
        "HelmRelease" => helm_release(obj),
        "ImagePolicy" => image_policy(obj),
        "ImageRepository" => image_repository(obj),
        "ImageUpdateAutomation" => Revisions {
            revision: str_at(obj, "/status/lastPushCommit"),
            detail: str_at(obj, "/status/lastPushTime").map(|t| format!("pushed at {t}")),
            ..Revisions::default()
        },
        "Receiver" => Revisions {
            detail: str_at(obj, "/status/webhookPath"),
            ..Revisions::default()
        },
        _ => Revisions::default(),
    }
}

/// Shorthand for `revisions(obj).revision`.
pub fn revision(obj: &Value) -> Option<String> {
    revisions(obj).revision
}

/// Shorthand for `revisions(obj).last_attempted`.
pub fn last_attempted_revision(obj: &Value) -> Option<String> {
    revisions(obj).last_attempted
}

fn helm_chart(obj: &Value) -> Revisions {
    let revision = str_at(obj, "/status/artifact/revision");
    let detail = str_at(obj, "/status/observedChartName")
        .zip(revision.clone())
        .map(|(name, version)| format!("{name}@{version}"));
    Revisions {
        revision,
        last_attempted: None,
        detail,
    }
}

/// HelmRelease: the latest `status.history` snapshot's `chartVersion`, as `flux get hr`
/// shows it; without history, v2beta1's `lastAppliedRevision`, else `lastAttemptedRevision`
/// (the CLI's fallback). The detail names chart, app version and Helm release.
fn helm_release(obj: &Value) -> Revisions {
    let last_attempted = str_at(obj, "/status/lastAttemptedRevision");
    let latest = latest_snapshot(obj);
    let revision = latest
        .and_then(|s| non_empty(s.get("chartVersion")))
        .or_else(|| str_at(obj, "/status/lastAppliedRevision"))
        .or_else(|| last_attempted.clone());
    Revisions {
        revision,
        last_attempted,
        detail: latest.and_then(snapshot_detail),
    }
}

/// The history entry with the highest Helm release version (the controller keeps the
/// list sorted newest first, but nothing else guarantees it).
fn latest_snapshot(obj: &Value) -> Option<&Value> {
    let history = obj.pointer("/status/history")?.as_array()?;
    history
        .iter()
        .enumerate()
        .max_by_key(|(i, s)| {
            (
                s.get("version").and_then(Value::as_i64),
                std::cmp::Reverse(*i),
            )
        })
        .map(|(_, s)| s)
}

fn snapshot_detail(snap: &Value) -> Option<String> {
    let chart = non_empty(snap.get("chartName"))?;
    let version = non_empty(snap.get("chartVersion")).unwrap_or_default();
    let mut detail = format!("{chart}@{version}");
    if let Some(app) = non_empty(snap.get("appVersion")) {
        detail.push_str(&format!(" app {app}"));
    }
    let name = non_empty(snap.get("name"));
    let namespace = non_empty(snap.get("namespace"));
    if let (Some(name), Some(namespace)) = (name, namespace) {
        let number = snap
            .get("version")
            .and_then(Value::as_i64)
            .unwrap_or_default();
        let status = non_empty(snap.get("status")).unwrap_or_default();
        detail.push_str(&format!(", release {namespace}/{name}.v{number} {status}"));
    }
    Some(detail.trim_end().to_owned())
}

fn image_policy(obj: &Value) -> Revisions {
    let current = obj.pointer("/status/latestRef").and_then(image_ref);
    let previous = obj
        .pointer("/status/observedPreviousRef")
        .and_then(image_ref);
    Revisions {
        revision: current.or_else(|| str_at(obj, "/status/latestImage")),
        last_attempted: None,
        detail: previous
            .or_else(|| str_at(obj, "/status/observedPreviousImage"))
            .map(|p| format!("previous {p}")),
    }
}

/// `name:tag[@digest]`, like image-reflector-controller's `ImageRef.String()`.
fn image_ref(r: &Value) -> Option<String> {
    let name = non_empty(r.get("name"))?;
    let tag = non_empty(r.get("tag"))?;
    Some(match non_empty(r.get("digest")) {
        Some(digest) => format!("{name}:{tag}@{digest}"),
        None => format!("{name}:{tag}"),
    })
}

fn image_repository(obj: &Value) -> Revisions {
    let Some(scan) = obj.pointer("/status/lastScanResult") else {
        return Revisions::default();
    };
    let count = scan
        .get("tagCount")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let tags = format!("{count} tags");
    let detail = match non_empty(scan.get("scanTime")) {
        Some(at) => format!("{tags}, scanned at {at}"),
        None => tags.clone(),
    };
    Revisions {
        revision: non_empty(scan.get("revision")).or(Some(tags)),
        last_attempted: None,
        detail: Some(detail),
    }
}

#[cfg(test)]
#[path = "revision_tests.rs"]
mod tests;
