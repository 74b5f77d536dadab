//! Churn: status changes at a steady rate, plus optional create/delete waves. Seeded. Workloads,
//! when the cluster has any, take `workload_share` of the changes (`workloadctl::churn_steps`).
//!
//! Each change draws the object's next state from the configured mix, whatever its state now
//! (Ready → Ready at the next revision, → Reconciling, → failing with a real reason; failing →
//! retried, recovered or failing again; Reconciling → done or failed). Because the next state
//! does not depend on the current one, every object churned at least once is in each state with
//! exactly the configured probability, so the fleet holds the mix at any rate: mostly Ready, a
//! few failing, a few mid-reconciliation (a chain that only ever left Ready through Reconciling
//! kept ~40% of a fleet Reconciling).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::catalog::{ResourceType, TypeId};
use super::cluster::SimCluster;
use super::fluxreasons::failure;
use super::fluxspec::{Refs, object};
use super::fluxstatus::{Health, health_of};
use super::reconcile::{Step, reconcile};
use super::scenario::namespace_name;
use super::state::Shared;
use super::store::Key;
use super::workloadctl::{self, CHURNED, churn_steps};

/// How to churn.
#[derive(Debug, Clone)]
pub struct ChurnOptions {
    /// Status changes per second (across all kinds).
    pub rate: f64,
    /// Seed for which object changes and how.
    pub seed: u64,
    /// Share of (unsuspended) objects failing at any moment.
    pub failure_ratio: f64,
    /// Share of objects caught mid-reconciliation (Reconciling, Ready=Unknown) at any moment.
    pub progressing_ratio: f64,
    /// Every `wave_every`, delete the previous wave's objects and create `wave_size` new
    /// Kustomizations (`None` = no waves).
    pub wave_every: Option<Duration>,
    /// Objects per wave.
    pub wave_size: usize,
    /// Share of the changes that go to workloads, when the cluster has any (Deployments,
    /// StatefulSets, DaemonSets, CronJobs, Jobs): rollouts to new images, some stuck past
    /// their deadline, scaling; with the same failing and progressing mix.
    pub workload_share: f64,
}

impl Default for ChurnOptions {
    fn default() -> Self {
        Self {
            rate: 2.0,
            seed: 7,
            failure_ratio: 0.08,
            progressing_ratio: 0.04,
            wave_every: None,
            wave_size: 10,
            workload_share: 0.5,
        }
    }
}

/// A running churn; stop it with [`ChurnHandle::stop`] (dropping it also stops it).
pub struct ChurnHandle {
    token: CancellationToken,
    task: Option<JoinHandle<()>>,
    changes: Arc<AtomicU64>,
}

impl ChurnHandle {
    /// Status changes made so far.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// Stop and wait for the task.
    pub async fn stop(mut self) {
        self.token.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for ChurnHandle {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// Start churning a cluster's Flux objects.
pub fn spawn_churn(cluster: &SimCluster, opts: ChurnOptions) -> ChurnHandle {
    let token = cluster.shutdown_token().child_token();
    let changes = Arc::new(AtomicU64::new(0));
    let churn = Churn {
        shared: cluster.shared().clone(),
        rng: StdRng::seed_from_u64(opts.seed),
        keys: Vec::new(),
        workload_keys: Vec::new(),
        wave: 0,
        last_wave: Vec::new(),
        changes: changes.clone(),
        opts,
    };
    let task = tokio::spawn(churn.run(token.clone()));
    ChurnHandle {
        token,
        task: Some(task),
        changes,
    }
}

struct Churn {
    shared: Arc<Shared>,
    opts: ChurnOptions,
    rng: StdRng,
    /// Keys per churnable type, refreshed every few seconds (picking the n-th key of a
    /// BTreeMap is linear, so churn keeps its own index).
    keys: Vec<(TypeId, Vec<Key>)>,
    /// The same for the churned workload kinds.
    workload_keys: Vec<(TypeId, Vec<Key>)>,
    wave: u64,
    /// Objects created by the previous wave (deleted by the next).
    last_wave: Vec<Key>,
    changes: Arc<AtomicU64>,
}

impl Churn {
    async fn run(mut self, token: CancellationToken) {
        const TICK: Duration = Duration::from_millis(20);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut refresh = tokio::time::interval(Duration::from_secs(3));
        let mut wave =
            tokio::time::interval(self.opts.wave_every.unwrap_or(Duration::from_secs(3600)));
        wave.tick().await;
        let mut budget = 0.0f64;
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = refresh.tick() => self.refresh_keys(),
                _ = wave.tick(), if self.opts.wave_every.is_some() => self.run_wave(),
                _ = tick.tick() => {
                    budget += self.opts.rate * TICK.as_secs_f64();
                    while budget >= 1.0 {
                        budget -= 1.0;
                        self.change_one();
                    }
                }
            }
        }
    }

    fn refresh_keys(&mut self) {
        let cat = self.shared.catalog.clone();
        let keys_of = |keep: &dyn Fn(&ResourceType) -> bool| -> Vec<(TypeId, Vec<Key>)> {
            (0..cat.types.len())
                .filter(|&t| keep(&cat.types[t]))
                .map(|t| {
                    let keys = self.shared.store.read(t).objects.keys().cloned().collect();
                    (t, keys)
                })
                .filter(|(_, keys): &(TypeId, Vec<Key>)| !keys.is_empty())
                .collect()
        };
        self.keys = keys_of(&|t| t.is_flux() && t.has_status);
        self.workload_keys = keys_of(&|t| t.is_workload() && CHURNED.contains(&t.kind));
    }

    fn change_one(&mut self) {
        // No draw without workloads: churn of a cluster without them stays what it was.
        if !self.workload_keys.is_empty() && self.rng.random::<f64>() < self.opts.workload_share {
            return self.change_workload();
        }
        if self.keys.is_empty() {
            return;
        }
        let (ty, keys) = &self.keys[self.rng.random_range(0..self.keys.len())];
        let (ty, (ns, name)) = (*ty, keys[self.rng.random_range(0..keys.len())].clone());
        let Some(stored) = self.shared.store.get(ty, &ns, &name) else {
            return;
        };
        let Ok(obj) = serde_json::from_slice::<serde_json::Value>(&stored.bytes) else {
            return;
        };
        if obj["spec"]["suspend"] == json!(true) {
            return;
        }
        let kind = self.shared.store.rt(ty).kind;
        let Some(step) = self.next_step(kind, &ns, &name, health_of(&obj)) else {
            return;
        };
        if reconcile(&self.shared, ty, &ns, &name, step, |_| {}).is_ok() {
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One workload goes to its next state, drawn from the mix (`workloadctl::churn_steps`).
    fn change_workload(&mut self) {
        let (ty, keys) = &self.workload_keys[self.rng.random_range(0..self.workload_keys.len())];
        let (ty, (ns, name)) = (*ty, keys[self.rng.random_range(0..keys.len())].clone());
        let Some(stored) = self.shared.store.get(ty, &ns, &name) else {
            return;
        };
        let Ok(obj) = serde_json::from_slice::<serde_json::Value>(&stored.bytes) else {
            return;
        };
        let (draw, coin) = (self.rng.random::<f64>(), self.rng.random::<bool>());
        let (failure, progressing) = (self.opts.failure_ratio, self.opts.progressing_ratio);
        let steps = churn_steps(&obj, draw, failure, progressing, coin);
        if !steps.is_empty() && workloadctl::step(&self.shared, ty, &ns, &name, &steps).is_ok() {
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The next state, drawn from the mix, and how the object gets there; `None` when it stays
    /// Reconciling (nothing to write).
    fn next_step(&mut self, kind: &str, ns: &str, name: &str, now: Option<Health>) -> Option<Step> {
        let draw: f64 = self.rng.random();
        let variant = self.rng.random_range(0..4);
        let (health, advance) = if draw < self.opts.failure_ratio {
            match now {
                // A retry fails the same way.
                Some(failed @ Health::Failed { .. }) => (failed, false),
                // The next revision fails.
                _ => (failure(kind, ns, name, variant), true),
            }
        } else if draw < self.opts.failure_ratio + self.opts.progressing_ratio {
            match now {
                Some(Health::Progressing) => return None,
                // A reconciliation starts (or a failed one is retried).
                _ => (Health::Progressing, false),
            }
        } else {
            match now {
                // A retry succeeds with the revision that failed.
                Some(Health::Failed { .. }) => (Health::Ready, false),
                // The revision in progress, or the next one, is applied.
                _ => (Health::Ready, true),
            }
        };
        Some(Step { health, advance })
    }

    /// Delete the previous wave's Kustomizations and create a new wave.
    fn run_wave(&mut self) {
        let Some(ty) = self.shared.catalog.by_kind_name("Kustomization") else {
            return;
        };
        let flavor = self.shared.opts.flavor;
        let namespaces: Vec<String> = self
            .shared
            .store
            .read(self.shared.catalog.namespace_type())
            .objects
            .keys()
            .map(|k| k.1.clone())
            .filter(|n| n != "kube-system")
            .collect();
        for (ns, name) in std::mem::take(&mut self.last_wave) {
            let _ = self.shared.store.delete(ty, &ns, &name);
        }
        for i in 0..self.opts.wave_size {
            let ns = namespaces
                .get(i % namespaces.len().max(1))
                .cloned()
                .unwrap_or_else(|| namespace_name(0));
            let name = format!("wave-{}-{i}", self.wave);
            let obj = object(
                "Kustomization",
                flavor,
                &ns,
                &name,
                &Refs::default(),
                json!({"sim.flux-orchestrator.io/wave": self.wave.to_string()}),
            );
            if self.shared.store.create(ty, obj).is_ok() {
                self.last_wave.push((ns.clone(), name.clone()));
                let _ = reconcile(
                    &self.shared,
                    ty,
                    &ns,
                    &name,
                    Step {
                        health: Health::Progressing,
                        advance: false,
                    },
                    |_| {},
                );
            }
        }
        self.wave += 1;
        self.refresh_keys();
    }
}
