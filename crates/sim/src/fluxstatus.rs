//! Flux `status` as the controllers write it: conditions with real reasons, observedGeneration,
//! artifacts, applied revisions, Kustomization inventory/history, HelmRelease history.

use serde_json::{Value, json};

use super::catalog::FluxFlavor;
use super::fluxhelm::{helm_release_status, helm_release_version};
use super::fluxreasons::{success_message, success_reason};
use super::fluxspec::hex_digest;

/// What a reconciliation ended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Ready=True.
    Ready,
    /// Reconciling=True, Ready=Unknown (reason `Progressing`).
    Progressing,
    /// Ready=False with a reason; `stalled` adds Stalled=True (no retry until a change).
    Failed {
        /// Condition reason, e.g. `HealthCheckFailed`.
        reason: String,
        /// Condition message.
        message: String,
        /// Whether the controller gave up (`Stalled`).
        stalled: bool,
    },
}

/// Inputs of one status rendering.
pub struct Render<'a> {
    /// The object as stored now (metadata, spec and the previous status).
    pub obj: &'a Value,
    /// Served flavor (shapes differ slightly between API versions).
    pub flavor: FluxFlavor,
    /// Outcome to render.
    pub health: &'a Health,
    /// Target revision (applied when Ready, attempted otherwise).
    pub revision: &'a str,
    /// Timestamp of this reconciliation.
    pub now: &'a str,
}

fn condition(
    prev: &Value,
    ty: &str,
    status: &str,
    reason: &str,
    message: &str,
    generation: i64,
    now: &str,
) -> Value {
    let prev_cond = prev["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty));
    let since = match prev_cond {
        Some(c) if c["status"] == status => {
            c["lastTransitionTime"].as_str().unwrap_or(now).to_string()
        }
        _ => now.to_string(),
    };
    json!({"type": ty, "status": status, "reason": reason, "message": message, "observedGeneration": generation, "lastTransitionTime": since})
}

fn is_source(kind: &str) -> bool {
    matches!(
        kind,
        "GitRepository"
            | "HelmRepository"
            | "HelmChart"
            | "OCIRepository"
            | "Bucket"
            | "ExternalArtifact"
    )
}

/// The `status` for an outcome, carrying over what Flux keeps between reconciliations.
pub fn render(r: &Render) -> Value {
    let kind = r.obj["kind"].as_str().unwrap_or_default();
    let md = &r.obj["metadata"];
    let (ns, name) = (
        md["namespace"].as_str().unwrap_or_default(),
        md["name"].as_str().unwrap_or_default(),
    );
    let generation = md["generation"].as_i64().unwrap_or(1);
    let prev = &r.obj["status"];
    let mut st = json!({});
    if let Some(at) = prev.get("lastHandledReconcileAt") {
        st["lastHandledReconcileAt"] = at.clone();
    }
    let release_version = helm_release_version(prev, r);
    let (ready_status, reason, message) = ready(r, kind, ns, name, release_version);
    let cond = |ty: &str, s: &str, reason: &str, msg: &str| {
        condition(prev, ty, s, reason, msg, generation, r.now)
    };
    let mut conds = Vec::new();
    match r.health {
        Health::Progressing => conds.push(cond(
            "Reconciling",
            "True",
            "Progressing",
            "Reconciliation in progress",
        )),
        Health::Failed { stalled: true, .. } => {
            conds.push(cond("Stalled", "True", "RetriesExceeded", &message))
        }
        _ => {}
    }
    conds.push(cond("Ready", ready_status, &reason, &message));
    st["observedGeneration"] = match r.health {
        Health::Progressing => prev.get("observedGeneration").cloned().unwrap_or(json!(-1)),
        _ => json!(generation),
    };
    let this = Object {
        kind,
        ns,
        name,
        release_version,
    };
    kind_status(r, &this, &mut st, &mut conds, &cond);
    st["conditions"] = Value::Array(conds);
    st
}

/// The `Ready` condition's status, reason and message for the outcome.
fn ready(
    r: &Render,
    kind: &str,
    ns: &str,
    name: &str,
    release_version: u64,
) -> (&'static str, String, String) {
    match r.health {
        Health::Ready => (
            "True",
            success_reason(kind).to_string(),
            success_message(kind, ns, name, r.revision, release_version),
        ),
        Health::Progressing => (
            "Unknown",
            "Progressing".to_string(),
            "Reconciliation in progress".to_string(),
        ),
        Health::Failed {
            reason, message, ..
        } => ("False", reason.clone(), message.clone()),
    }
}

/// The object a status is rendered for.
struct Object<'a> {
    kind: &'a str,
    ns: &'a str,
    name: &'a str,
    /// The release number a HelmRelease reaches (`helm_release_version`; unused by other kinds).
    release_version: u64,
}

/// The fields only some kinds have (artifacts, inventories, release history, image scans).
fn kind_status(r: &Render, o: &Object, st: &mut Value, conds: &mut Vec<Value>, cond: &Cond) {
    let (kind, ns, name) = (o.kind, o.ns, o.name);
    if is_source(kind) {
        source_status(r, kind, ns, name, st, conds, cond);
    }
    match kind {
        "Kustomization" => kustomization_status(r, ns, name, st, conds, cond),
        "HelmRelease" => helm_release_status(r, ns, name, o.release_version, st, conds, cond),
        "Receiver" => {
            st["webhookPath"] = json!(format!("/hook/{}", hex_digest(&[ns, name, "token"], 64)))
        }
        "ImageRepository" => image_repository_status(r, name, st),
        "ImagePolicy" => image_policy_status(r, name, st),
        "ImageUpdateAutomation" => image_automation_status(r, st),
        _ => {}
    }
}

pub(super) type Cond<'a> = dyn Fn(&str, &str, &str, &str) -> Value + 'a;

fn source_status(
    r: &Render,
    kind: &str,
    ns: &str,
    name: &str,
    st: &mut Value,
    conds: &mut Vec<Value>,
    cond: &Cond,
) {
    let prev = &r.obj["status"];
    let artifact = match r.health {
        Health::Ready => {
            let digest = hex_digest(&[r.revision], 64);
            let dir = kind.to_lowercase();
            let path = format!("{dir}/{ns}/{name}/{}.tar.gz", &digest[..40]);
            Some(json!({
                "digest": format!("sha256:{digest}"), "lastUpdateTime": r.now, "path": path,
                "revision": r.revision, "size": 20_000 + (digest.as_bytes()[0] as u64) * 97,
                "url": format!("http://source-controller.flux-system.svc.cluster.local./{path}"),
            }))
        }
        _ => prev.get("artifact").cloned(),
    };
    if let Some(a) = artifact {
        conds.push(cond(
            "ArtifactInStorage",
            "True",
            "Succeeded",
            &format!(
                "stored artifact for revision '{}'",
                a["revision"].as_str().unwrap_or_default()
            ),
        ));
        st["artifact"] = a;
    }
    if let Health::Failed {
        reason, message, ..
    } = r.health
    {
        conds.push(cond("FetchFailed", "True", reason, message));
    }
    if kind == "HelmChart" {
        st["observedChartName"] = json!("podinfo");
        st["observedSourceArtifactRevision"] =
            json!(format!("sha256:{}", hex_digest(&[ns, "index"], 64)));
    }
    if kind == "HelmRepository" {
        st["url"] = json!(format!(
            "http://source-controller.flux-system.svc.cluster.local./helmrepository/{ns}/{name}/index.yaml"
        ));
    }
}

fn kustomization_status(
    r: &Render,
    ns: &str,
    name: &str,
    st: &mut Value,
    conds: &mut Vec<Value>,
    cond: &Cond,
) {
    let prev = &r.obj["status"];
    match r.health {
        Health::Ready => conds.push(cond(
            "Healthy",
            "True",
            "Succeeded",
            "Health check passed in 1.2s",
        )),
        Health::Failed {
            reason, message, ..
        } if reason == "HealthCheckFailed" => conds.push(cond("Healthy", "False", reason, message)),
        _ => {}
    }
    st["lastAttemptedRevision"] = json!(r.revision);
    let applied = match r.health {
        Health::Ready => Some(json!(r.revision)),
        _ => prev.get("lastAppliedRevision").cloned(),
    };
    if let Some(a) = applied {
        st["lastAppliedRevision"] = a;
        // The inventory stays what the last apply recorded: the workloads `Scenario` created
        // for it, or else four entries named after the Kustomization.
        st["inventory"] = prev.get("inventory").cloned().unwrap_or_else(|| {
            let entries: Vec<Value> = [("apps", "Deployment"), ("", "Service"), ("", "ConfigMap"), ("autoscaling", "HorizontalPodAutoscaler")]
                .iter()
                .map(|(g, k)| json!({"id": format!("{ns}_{name}_{g}_{k}"), "v": if *k == "HorizontalPodAutoscaler" { "v2" } else { "v1" }}))
                .collect();
            json!({"entries": entries})
        });
    }
    if r.flavor != FluxFlavor::Legacy && !matches!(r.health, Health::Progressing) {
        st["history"] = snapshot_history(prev, r);
    }
}

/// meta.History: most recent first, one snapshot per (digest, status), at most 5.
fn snapshot_history(prev: &Value, r: &Render) -> Value {
    let status = match r.health {
        Health::Ready => "ReconciliationSucceeded".to_string(),
        Health::Failed { reason, .. } => reason.clone(),
        Health::Progressing => "Progressing".to_string(),
    };
    let digest = format!("sha256:{}", hex_digest(&[r.revision, "manifests"], 64));
    let mut hist: Vec<Value> = prev["history"].as_array().cloned().unwrap_or_default();
    let found = hist.iter().position(|s| {
        s["digest"] == digest.as_str() && s["lastReconciledStatus"] == status.as_str()
    });
    let snap = match found {
        Some(i) => {
            let mut s = hist.remove(i);
            s["lastReconciled"] = json!(r.now);
            s["totalReconciliations"] = json!(s["totalReconciliations"].as_i64().unwrap_or(0) + 1);
            s
        }
        None => json!({
            "digest": digest, "firstReconciled": r.now, "lastReconciled": r.now,
            "lastReconciledDuration": "1.2s", "lastReconciledStatus": status, "totalReconciliations": 1,
            "metadata": {"revision": r.revision},
        }),
    };
    hist.insert(0, snap);
    hist.truncate(5);
    Value::Array(hist)
}

fn image_repository_status(r: &Render, name: &str, st: &mut Value) {
    st["canonicalImageName"] = json!(format!("ghcr.io/acme/{name}"));
    st["observedExclusionList"] = json!(["^.*\\.sig$"]);
    st["lastScanResult"] = json!({"tagCount": 42, "scanTime": r.now, "latestTags": ["6.5.4", "6.5.3", "6.5.2", "6.5.1", "6.5.0"]});
}

fn image_policy_status(r: &Render, name: &str, st: &mut Value) {
    if !matches!(r.health, Health::Ready) {
        return;
    }
    let image = format!("ghcr.io/acme/{name}");
    match r.flavor {
        FluxFlavor::Legacy => st["latestImage"] = json!(format!("{image}:{}", r.revision)),
        FluxFlavor::Flux29 | FluxFlavor::Operator => {
            st["latestRef"] = json!({"name": image, "tag": r.revision})
        }
    }
}

fn image_automation_status(r: &Render, st: &mut Value) {
    st["lastAutomationRunTime"] = json!(r.now);
    st["observedSourceRevision"] = json!(r.revision);
    if matches!(r.health, Health::Ready) {
        st["lastPushCommit"] = json!(hex_digest(&[r.revision, "push"], 40));
        st["lastPushTime"] = json!(r.now);
    }
}

/// The revision an object currently reports (the one the next change advances from).
pub fn current_revision(obj: &Value) -> Option<String> {
    let st = &obj["status"];
    let kind = obj["kind"].as_str().unwrap_or_default();
    let v = match kind {
        "Kustomization" => &st["lastAttemptedRevision"],
        "HelmRelease" => &st["lastAttemptedRevision"],
        "ImagePolicy" if st["latestImage"].is_string() => {
            return st["latestImage"]
                .as_str()
                .and_then(|i| i.rsplit(':').next())
                .map(str::to_string);
        }
        "ImagePolicy" => &st["latestRef"]["tag"],
        "ImageUpdateAutomation" => &st["observedSourceRevision"],
        _ => &st["artifact"]["revision"],
    };
    v.as_str().map(str::to_string)
}

/// The health an object's conditions say it is in.
pub fn health_of(obj: &Value) -> Option<Health> {
    let conds = obj["status"]["conditions"].as_array()?;
    let ready = conds.iter().find(|c| c["type"] == "Ready")?;
    Some(match ready["status"].as_str() {
        Some("True") => Health::Ready,
        Some("False") => Health::Failed {
            reason: ready["reason"].as_str().unwrap_or_default().to_string(),
            message: ready["message"].as_str().unwrap_or_default().to_string(),
            stalled: conds
                .iter()
                .any(|c| c["type"] == "Stalled" && c["status"] == "True"),
        },
        _ => Health::Progressing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fluxspec::{Refs, next_revision, object};

    fn rendered(obj: &Value, health: &Health, revision: &str, now: &str) -> Value {
        let mut o = obj.clone();
        o["status"] = render(&Render {
            obj,
            flavor: FluxFlavor::Flux29,
            health,
            revision,
            now,
        });
        o
    }

    #[test]
    fn helm_release_history_supersedes_and_failures_count() {
        let hr = object(
            "HelmRelease",
            FluxFlavor::Flux29,
            "apps",
            "web",
            &Refs::default(),
            json!({}),
        );
        let v1 = rendered(&hr, &Health::Ready, "6.5.0", "2025-01-01T00:00:00Z");
        let v2 = rendered(
            &v1,
            &Health::Ready,
            &next_revision("HelmRelease", "6.5.0"),
            "2025-01-02T00:00:00Z",
        );
        let h = v2["status"]["history"].as_array().unwrap();
        assert_eq!(
            (h.len(), h[0]["version"].clone(), h[0]["status"].clone()),
            (2, json!(2), json!("deployed"))
        );
        assert_eq!(
            (h[1]["status"].clone(), h[0]["chartVersion"].clone()),
            (json!("superseded"), json!("6.5.1"))
        );
        let failed = Health::Failed {
            reason: "UpgradeFailed".into(),
            message: "boom".into(),
            stalled: false,
        };
        let f = rendered(&v2, &failed, "6.5.2", "2025-01-03T00:00:00Z");
        assert_eq!(
            (
                f["status"]["failures"].clone(),
                f["status"]["upgradeFailures"].clone()
            ),
            (json!(1), json!(1))
        );
        assert_eq!(
            f["status"]["history"].as_array().unwrap().len(),
            2,
            "a failed upgrade keeps the history"
        );
        assert_eq!(health_of(&f), Some(failed));
    }

    #[test]
    fn conditions_keep_transition_time_while_status_is_unchanged() {
        let ks = object(
            "Kustomization",
            FluxFlavor::Flux29,
            "apps",
            "web",
            &Refs::default(),
            json!({}),
        );
        let a = rendered(&ks, &Health::Ready, "main@sha1:aa", "2025-01-01T00:00:00Z");
        let b = rendered(&a, &Health::Ready, "main@sha1:bb", "2025-01-02T00:00:00Z");
        let ready = |o: &Value| {
            o["status"]["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["type"] == "Ready")
                .unwrap()
                .clone()
        };
        assert_eq!(ready(&b)["lastTransitionTime"], "2025-01-01T00:00:00Z");
        assert_eq!(ready(&b)["message"], "Applied revision: main@sha1:bb");
        let p = rendered(
            &b,
            &Health::Progressing,
            "main@sha1:cc",
            "2025-01-03T00:00:00Z",
        );
        assert_eq!(p["status"]["conditions"][0]["type"], "Reconciling");
        assert_eq!(p["status"]["lastAppliedRevision"], "main@sha1:bb");
        assert_eq!(current_revision(&p).as_deref(), Some("main@sha1:cc"));
    }
}
