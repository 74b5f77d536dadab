//! [`Scenario`]: populate a cluster with realistic Flux objects — shared sources, dependsOn
//! chains, a seeded mix of Ready, failing, progressing and suspended objects.

use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

use super::catalog::FluxFlavor;
use super::cluster::SimCluster;
use super::events::{self, EventSpec};
use super::fluxreasons::{as_attempted, failure};
use super::fluxspec::{Refs, initial_revision, next_revision, object};
use super::fluxstatus::{Health, Render, render};
use super::objects::Objects;
use super::status::Result;
use super::workloads::{self, Owner, planned};
use super::workloadstatus::{self, Phase};

/// What to populate. Object counts are per kind, spread round-robin over the namespaces.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Namespaces to spread objects over.
    pub namespaces: usize,
    /// Objects of each served Flux kind.
    pub objects_per_kind: usize,
    /// Seed: the same seed gives the same objects, states and revisions.
    pub seed: u64,
    /// Share of objects that are failing (Ready=False with a kind-specific reason).
    pub failure_ratio: f64,
    /// Share of objects caught mid-reconciliation (Reconciling, Ready=Unknown).
    pub progressing_ratio: f64,
    /// Share of objects with `spec.suspend: true`.
    pub suspended_ratio: f64,
    /// Kustomizations/HelmReleases form `dependsOn` chains of this length (1 = no chains).
    pub chain_length: usize,
    /// Consumers per source: every N Kustomizations share one GitRepository, and so on.
    pub consumers_per_source: usize,
    /// Restrict to these kinds (`None` = every served Flux kind).
    pub kinds: Option<Vec<String>>,
    /// Emit the Warning Events of failing objects.
    pub events: bool,
    /// Workloads (Deployments, Services, StatefulSets...) in all, spread round-robin over the
    /// Kustomizations and HelmReleases that applied something, labelled as theirs and listed in
    /// their inventories; a share of them stuck or rolling out like the Flux objects (0: none).
    pub workloads: usize,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            namespaces: 3,
            objects_per_kind: 10,
            seed: 1,
            failure_ratio: 0.08,
            progressing_ratio: 0.04,
            suspended_ratio: 0.03,
            chain_length: 3,
            consumers_per_source: 3,
            kinds: None,
            events: true,
            workloads: 0,
        }
    }
}

/// Names of the simulated namespaces.
pub fn namespace_name(i: usize) -> String {
    const NAMES: &[&str] = &[
        "apps",
        "platform",
        "monitoring",
        "payments",
        "search",
        "identity",
        "data",
        "edge",
    ];
    NAMES
        .get(i)
        .map_or_else(|| format!("team-{i}"), |n| n.to_string())
}

/// Object name of the `j`-th object of a kind in a namespace.
pub fn object_name(kind: &str, ns: &str, j: usize) -> String {
    match kind {
        "GitRepository" => format!("repo-{j}"),
        "HelmRepository" => format!("charts-{j}"),
        "HelmChart" => format!("{ns}-release-{j}"),
        "OCIRepository" => format!("oci-{j}"),
        "Bucket" => format!("bucket-{j}"),
        "Kustomization" => format!("app-{j}"),
        "HelmRelease" => format!("release-{j}"),
        "Alert" => format!("alert-{j}"),
        "Provider" => format!("provider-{j}"),
        "Receiver" => format!("receiver-{j}"),
        "ImageRepository" | "ImagePolicy" => format!("image-{j}"),
        "ImageUpdateAutomation" => format!("automation-{j}"),
        other => format!("{}-{j}", other.to_lowercase()),
    }
}

/// The source kind an object of `kind` points at, if any.
pub fn source_kind(kind: &str) -> Option<&'static str> {
    match kind {
        "Kustomization" | "Receiver" | "ImageUpdateAutomation" => Some("GitRepository"),
        "HelmRelease" | "HelmChart" => Some("HelmRepository"),
        "Alert" => Some("Provider"),
        "ImagePolicy" => Some("ImageRepository"),
        _ => None,
    }
}

/// What populate created.
#[derive(Debug, Clone, Default)]
pub struct PopulateReport {
    /// Flux objects created.
    pub objects: usize,
    /// Of which failing.
    pub failing: usize,
    /// Of which suspended.
    pub suspended: usize,
    /// Workloads created (not counted in `objects`).
    pub workloads: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl Scenario {
    /// Kinds this scenario creates on a cluster, sources first.
    fn kinds(&self, cluster: &SimCluster) -> Vec<&'static str> {
        let served: Vec<&'static str> = cluster
            .objects()
            .kinds()
            .into_iter()
            .map(|(_, k)| k)
            .filter(|k| !matches!(*k, "Namespace" | "Event"))
            .collect();
        served
            .into_iter()
            .filter(|k| {
                self.kinds
                    .as_ref()
                    .is_none_or(|ks| ks.iter().any(|x| x == k))
            })
            .collect()
    }

    /// Create the namespaces and objects.
    pub fn populate(&self, cluster: &SimCluster) -> Result<PopulateReport> {
        let started = std::time::Instant::now();
        let objects = cluster.objects();
        let flavor = cluster.shared().opts.flavor;
        let namespaces = self.namespaces.max(1);
        for i in 0..namespaces {
            objects.ensure_namespace(&namespace_name(i))?;
        }
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut report = PopulateReport::default();
        let kinds = self.kinds(cluster);
        for kind in &kinds {
            for idx in 0..self.objects_per_kind {
                let ns = namespace_name(idx % namespaces);
                let j = idx / namespaces;
                let refs = self.refs(kind, &ns, j, &kinds, namespaces);
                let (obj, health) = self.build(kind, flavor, &ns, j, &refs, &mut rng);
                let created = objects.create(obj)?;
                report.objects += 1;
                report.suspended += usize::from(created["spec"]["suspend"] == json!(true));
                if let Health::Failed {
                    reason, message, ..
                } = &health
                {
                    report.failing += 1;
                    if self.events {
                        let ev = EventSpec {
                            event_type: "Warning",
                            reason: reason.clone(),
                            message: message.clone(),
                            revision: None,
                        };
                        events::record(cluster.shared(), &created, &ev);
                    }
                }
            }
        }
        report.workloads = self.populate_workloads(cluster)?;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Create the workloads, round-robin over the owners that applied something, and record
    /// each owner's in its inventory (Kustomizations; HelmReleases of Flux29, which since Flux
    /// 2.8 have one). Their own random stream keeps the Flux objects as they were without.
    fn populate_workloads(&self, cluster: &SimCluster) -> Result<usize> {
        let objects = cluster.objects();
        let owners = applied_owners(&objects);
        if self.workloads == 0 || owners.is_empty() {
            return Ok(0);
        }
        let mut rng = StdRng::seed_from_u64(self.seed ^ 0x776f_726b_6c6f_6164);
        let mut inventories: Vec<Vec<Value>> = vec![Vec::new(); owners.len()];
        let now = super::meta::now();
        for i in 0..self.workloads {
            let (k, owner) = (i % owners.len(), &owners[i % owners.len()]);
            let p = planned(&owner.name, i / owners.len());
            let mut obj = workloads::object(&p, &owner.namespace, owner);
            if objects
                .type_of(p.kind)
                .is_ok_and(|t| cluster.shared().catalog.types[t].generation)
            {
                obj["metadata"]["generation"] = json!(1);
            }
            let draw: f64 = rng.random();
            let phase = if draw < self.failure_ratio {
                Phase::Stuck
            } else if draw < self.failure_ratio + self.progressing_ratio {
                Phase::Progressing
            } else {
                Phase::Complete
            };
            obj["status"] = workloadstatus::render(&obj, phase, &now);
            objects.create(obj)?;
            inventories[k].push(workloads::inventory_entry(
                p.kind,
                &owner.namespace,
                &p.name,
            ));
        }
        let legacy = cluster.shared().opts.flavor == FluxFlavor::Legacy;
        for (owner, entries) in owners.iter().zip(inventories) {
            if entries.is_empty() || (legacy && owner.kind == "HelmRelease") {
                continue;
            }
            let patch = json!({"status": {"inventory": {"entries": entries}}});
            objects.patch(owner.kind, &owner.namespace, &owner.name, &patch)?;
        }
        Ok(self.workloads)
    }

    fn refs(&self, kind: &str, ns: &str, j: usize, kinds: &[&str], namespaces: usize) -> Refs {
        let mut refs = Refs::default();
        if let Some(src) = source_kind(kind).filter(|s| kinds.contains(s)) {
            // Sources of the kind in this namespace: indices 0..per_ns.
            let per_ns = self.objects_per_kind.div_ceil(namespaces).max(1);
            let k = match kind {
                "ImagePolicy" | "HelmChart" => j,
                _ => j / self.consumers_per_source.max(1),
            }
            .min(per_ns - 1);
            refs.source = Some((src.to_string(), ns.to_string(), object_name(src, ns, k)));
        }
        let chain = self.chain_length.max(1);
        if matches!(kind, "Kustomization" | "HelmRelease") && !j.is_multiple_of(chain) {
            refs.depends_on
                .push((ns.to_string(), object_name(kind, ns, j - 1)));
        }
        refs
    }

    fn build(
        &self,
        kind: &str,
        flavor: FluxFlavor,
        ns: &str,
        j: usize,
        refs: &Refs,
        rng: &mut StdRng,
    ) -> (Value, Health) {
        let name = object_name(kind, ns, j);
        let labels = json!({"app.kubernetes.io/part-of": "flux-sim", "app.kubernetes.io/name": name, "team": format!("team-{}", j % 4)});
        let mut obj = object(kind, flavor, ns, &name, refs, labels);
        let age = rng.random_range(3_600..30 * 86_400);
        let created = chrono::Utc::now() - chrono::Duration::seconds(age);
        obj["metadata"]["creationTimestamp"] =
            json!(created.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        let draw: f64 = rng.random();
        let health = if draw < self.failure_ratio {
            failure(kind, ns, &name, rng.random_range(0..4))
        } else if draw < self.failure_ratio + self.progressing_ratio {
            Health::Progressing
        } else {
            Health::Ready
        };
        if rng.random::<f64>() < self.suspended_ratio && !matches!(kind, "Alert" | "Provider") {
            obj["spec"]["suspend"] = json!(true);
        }
        if matches!(kind, "Alert" | "Provider") {
            return (obj, Health::Ready);
        }
        let mut revision = initial_revision(kind, ns, &name);
        for _ in 0..rng.random_range(0..3) {
            revision = next_revision(kind, &revision);
        }
        let since = created + chrono::Duration::seconds(rng.random_range(0..age));
        let now = since.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        if health != Health::Ready {
            // Failing and progressing objects once applied an earlier revision successfully.
            obj["status"] = render(&Render {
                obj: &obj,
                flavor,
                health: &Health::Ready,
                revision: &revision,
                now: &now,
            });
            revision = next_revision(kind, &revision);
        }
        let health = as_attempted(&obj, health, &revision);
        let status = render(&Render {
            obj: &obj,
            flavor,
            health: &health,
            revision: &revision,
            now: &now,
        });
        obj["status"] = status;
        (obj, health)
    }
}

/// Kustomizations that applied a revision and HelmReleases that released one: the owners of
/// workloads.
fn applied_owners(objects: &Objects) -> Vec<Owner> {
    let applied = |kind: &'static str, o: &Value| {
        let st = &o["status"];
        let has = match kind {
            "Kustomization" => st["lastAppliedRevision"].is_string(),
            _ => st["history"].as_array().is_some_and(|h| !h.is_empty()),
        };
        has.then(|| Owner {
            kind,
            namespace: o["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            name: o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        })
    };
    ["Kustomization", "HelmRelease"]
        .into_iter()
        .flat_map(|kind| {
            objects
                .list(kind, None)
                .into_iter()
                .filter_map(move |o| applied(kind, &o))
        })
        .collect()
}
