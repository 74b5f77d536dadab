//! HelmRelease status as helm-controller writes it. One rule holds it together: the revision
//! of the deployed release (`history[0].chartVersion`), `lastAttemptedRevision` and the Ready
//! message agree — the attempted revision differs from the deployed one only while an upgrade
//! is in progress or failing, and then the failure message names the attempted chart version.

use serde_json::{Value, json};

use super::fluxspec::hex_digest;
use super::fluxstatus::{Cond, Health, Render};

/// Whether the object has a Helm release already (a failure is then an upgrade's).
pub fn released(obj: &Value) -> bool {
    obj["status"]["history"]
        .as_array()
        .is_some_and(|h| !h.is_empty())
}

/// `lastAttemptedReleaseAction`: the first successful release was an install; otherwise an
/// attempt installs only while there is no release yet.
fn release_action(prev: &Value, health: &Health, version: u64) -> &'static str {
    let has_release = prev["history"].as_array().is_some_and(|h| !h.is_empty());
    let install = match health {
        Health::Ready => version <= 1,
        _ => !has_release,
    };
    if install { "install" } else { "upgrade" }
}

/// The Helm release version a rendering reports: a new one when a new chart version is
/// deployed, else the latest one (1 before the first install).
pub(super) fn helm_release_version(prev: &Value, r: &Render) -> u64 {
    let last = &prev["history"][0];
    let v = last["version"].as_u64().unwrap_or(0);
    match r.health {
        Health::Ready if last["chartVersion"].as_str() != Some(r.revision) => v + 1,
        _ => v.max(1),
    }
}

/// HelmRelease status: the attempt (`lastAttempted*`), the `Released` condition, failure
/// counters and the release history (deployed releases only; a failed upgrade keeps it).
pub(super) fn helm_release_status(
    r: &Render,
    ns: &str,
    name: &str,
    version: u64,
    st: &mut Value,
    conds: &mut Vec<Value>,
    cond: &Cond,
) {
    let prev = &r.obj["status"];
    let chart_ns = r.obj["spec"]["chart"]["spec"]["sourceRef"]["namespace"]
        .as_str()
        .unwrap_or(ns);
    let config_digest = format!("sha256:{}", hex_digest(&[ns, name, "values"], 64));
    st["helmChart"] = json!(format!("{chart_ns}/{ns}-{name}"));
    st["storageNamespace"] = json!(ns);
    st["lastAttemptedRevision"] = json!(r.revision);
    st["lastAttemptedGeneration"] = r.obj["metadata"]["generation"].clone();
    st["lastAttemptedConfigDigest"] = json!(config_digest);
    st["lastAttemptedReleaseAction"] = json!(release_action(prev, r.health, version));
    // `inventory` (helm-controller ≥ 1.5, Flux 2.8) lists the release's objects; `Scenario`
    // records it when it creates a HelmRelease's workloads, and it lasts until the next one.
    for key in ["lastHandledForceAt", "lastHandledResetAt", "inventory"] {
        if let Some(v) = prev.get(key) {
            st[key] = v.clone();
        }
    }
    let mut history: Vec<Value> = prev["history"].as_array().cloned().unwrap_or_default();
    match r.health {
        Health::Ready => {
            conds.push(cond("Released", "True", "UpgradeSucceeded", &format!("Helm upgrade succeeded for release {ns}/{name}.v{version} with chart podinfo@{}", r.revision)));
            if history.first().and_then(|h| h["version"].as_u64()) != Some(version) {
                let release = Release {
                    ns,
                    name,
                    version,
                    config_digest: &config_digest,
                };
                deploy(&mut history, r, &release);
            }
        }
        Health::Failed {
            reason, message, ..
        } => {
            conds.push(cond("Released", "False", reason, message));
            count_failure(prev, st, reason);
        }
        Health::Progressing => {}
    }
    if !history.is_empty() {
        st["history"] = Value::Array(history);
    }
}

/// A Helm release of a HelmRelease.
struct Release<'a> {
    ns: &'a str,
    name: &'a str,
    version: u64,
    config_digest: &'a str,
}

/// Record `release` as deployed at the head of `history` (the earlier ones superseded; five
/// kept, as helm-controller keeps them).
fn deploy(history: &mut Vec<Value>, r: &Render, release: &Release) {
    let Release {
        ns,
        name,
        version,
        config_digest,
    } = *release;
    let first = history
        .last()
        .and_then(|h| h["firstDeployed"].as_str())
        .unwrap_or(r.now)
        .to_string();
    for h in history.iter_mut() {
        h["status"] = json!("superseded");
    }
    history.insert(
        0,
        json!({
            "name": name, "namespace": ns, "version": version, "status": "deployed",
            "chartName": "podinfo", "chartVersion": r.revision, "configDigest": config_digest,
            "digest": format!("sha256:{}", hex_digest(&[ns, name, r.revision], 64)),
            "firstDeployed": first, "lastDeployed": r.now,
        }),
    );
    history.truncate(5);
}

/// Count a failed attempt: in total, and as an install or an upgrade failure.
fn count_failure(prev: &Value, st: &mut Value, reason: &str) {
    st["failures"] = json!(prev["failures"].as_i64().unwrap_or(0) + 1);
    let key = if reason == "InstallFailed" {
        "installFailures"
    } else {
        "upgradeFailures"
    };
    st[key] = json!(prev[key].as_i64().unwrap_or(0) + 1);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use crate::{ChurnOptions, Scenario, SimCluster, SimOptions, spawn_churn};

    fn patch_of(revision: &str) -> Option<u64> {
        revision.rsplit('.').next()?.parse().ok()
    }

    /// How a HelmRelease contradicts itself, if it does (Flux's rules, see the module doc).
    fn contradiction(hr: &Value) -> Option<String> {
        let st = &hr["status"];
        let Some(attempted) = st["lastAttemptedRevision"].as_str() else {
            return Some("no lastAttemptedRevision".into());
        };
        let ready = st["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))?;
        let (reason, message) = (
            ready["reason"].as_str().unwrap_or_default(),
            ready["message"].as_str().unwrap_or_default(),
        );
        let deployed = st["history"].as_array().and_then(|h| h.first());
        let action = st["lastAttemptedReleaseAction"]
            .as_str()
            .unwrap_or_default();
        let names_attempt = message.contains(&format!("podinfo@{attempted}:"))
            || message.ends_with(&format!("podinfo@{attempted}"));
        if message.contains('{') {
            return Some(format!("placeholder left in {message:?}"));
        }
        if let Some(d) = deployed {
            let version = d["chartVersion"].as_str().unwrap_or_default();
            if patch_of(attempted) < patch_of(version) {
                return Some(format!(
                    "attempted {attempted} is behind deployed {version}"
                ));
            }
        }
        match (ready["status"].as_str(), reason) {
            (Some("True"), _) => {
                let d = deployed?;
                let version = d["chartVersion"].as_str().unwrap_or_default();
                let release = format!(".v{} ", d["version"]);
                let ok = d["status"] == "deployed"
                    && version == attempted
                    && names_attempt
                    && message.contains(&release)
                    && (action == "install") == (d["version"] == 1);
                (!ok).then(|| {
                    format!("Ready: deployed {d}, attempted {attempted}, {action}: {message:?}")
                })
            }
            (Some("False"), "UpgradeFailed" | "InstallFailed") => {
                let ok = names_attempt
                    && (reason == "InstallFailed") == deployed.is_none()
                    && (action == "install") == deployed.is_none();
                (!ok).then(|| format!("{reason}: attempted {attempted}, {action}, release {deployed:?}: {message:?}"))
            }
            // Reconciling, or the chart is not ready: the attempt may be ahead of the release.
            _ => None,
        }
    }

    fn contradictions(sim: &SimCluster) -> Vec<String> {
        sim.objects()
            .list("HelmRelease", None)
            .iter()
            .filter_map(|hr| contradiction(hr).map(|c| format!("{}: {c}", hr["metadata"]["name"])))
            .collect()
    }

    #[tokio::test]
    async fn generated_and_churned_helm_releases_agree_on_revision_attempt_and_message() {
        let sim = SimCluster::start(SimOptions {
            controller: false,
            ..SimOptions::default()
        })
        .await
        .expect("simulator");
        let report = Scenario {
            namespaces: 4,
            objects_per_kind: 200,
            failure_ratio: 0.3,
            progressing_ratio: 0.2,
            suspended_ratio: 0.0,
            kinds: Some(vec!["HelmRelease".into()]),
            ..Scenario::default()
        }
        .populate(&sim)
        .expect("populate");
        assert!(report.failing > 20, "{report:?}");
        let bad = contradictions(&sim);
        assert!(
            bad.is_empty(),
            "{} generated: {:#?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
        let churn = spawn_churn(
            &sim,
            ChurnOptions {
                rate: 2_000.0,
                failure_ratio: 0.3,
                progressing_ratio: 0.2,
                ..ChurnOptions::default()
            },
        );
        // Every release changes about ten times; look at the fleet while it does.
        for round in 1..=5 {
            while churn.changes() < round * 400 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let bad = contradictions(&sim);
            assert!(
                bad.is_empty(),
                "{} churned: {:#?}",
                bad.len(),
                &bad[..bad.len().min(5)]
            );
        }
        churn.stop().await;
        let failed_upgrades = sim
            .objects()
            .list("HelmRelease", None)
            .iter()
            .filter(|hr| {
                hr["status"]["conditions"]
                    .to_string()
                    .contains("UpgradeFailed")
            })
            .count();
        assert!(failed_upgrades > 0, "the check saw failing upgrades");
        sim.shutdown().await;
    }
}
