//! [`Objects`]: programmatic access to a simulated cluster's objects. Every write bumps the
//! global resourceVersion and emits watch events exactly like an API write.

use std::sync::Arc;

use serde_json::{Value, json};

use super::catalog::{Class, ResourceType, TypeId};
use super::fluxstatus::Health;
use super::meta::{Scope, key_of, merge_patch};
use super::reconcile;
use super::state::Shared;
use super::status::{ApiError, Result};
use super::workloadctl::{self, WorkloadStep};

/// Handle to the object store of one cluster (cheap to clone).
#[derive(Clone)]
pub struct Objects {
    pub(crate) shared: Arc<Shared>,
}

impl Objects {
    /// Resolve a kind (`Kustomization`, or `kustomize.toolkit.fluxcd.io/Kustomization`).
    pub fn type_of(&self, kind: &str) -> Result<TypeId> {
        let cat = &self.shared.catalog;
        let found = match kind.rsplit_once('/') {
            Some((group, k)) => cat.by_kind(group, k),
            None => cat.by_kind_name(kind),
        };
        found.ok_or_else(|| {
            ApiError::new(
                404,
                "NotFound",
                format!("kind {kind:?} is not served by this cluster"),
            )
        })
    }

    fn type_of_object(&self, obj: &Value) -> Result<TypeId> {
        let kind = obj["kind"]
            .as_str()
            .ok_or_else(|| ApiError::bad_request("object without kind"))?;
        let group = obj["apiVersion"]
            .as_str()
            .and_then(|av| av.rsplit_once('/'))
            .map_or("", |(g, _)| g);
        self.shared
            .catalog
            .by_kind(group, kind)
            .or_else(|| self.shared.catalog.by_kind_name(kind))
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "NotFound",
                    format!("kind {kind:?} is not served by this cluster"),
                )
            })
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.store.current_rv()
    }

    /// Create a namespace unless it exists.
    pub fn ensure_namespace(&self, ns: &str) -> Result<()> {
        let nt = self.shared.catalog.namespace_type();
        if self.shared.store.get(nt, "", ns).is_some() {
            return Ok(());
        }
        let obj = json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        match self.shared.store.create(nt, obj) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 409 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Create an object (its namespace is created if missing); status is kept as given.
    pub fn create(&self, obj: Value) -> Result<Value> {
        let ty = self.type_of_object(&obj)?;
        if self.shared.catalog.types[ty].namespaced {
            let ns = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string();
            self.ensure_namespace(&ns)?;
        }
        let stored = self.shared.store.create(ty, obj)?;
        parse(&stored.bytes)
    }

    /// Create, or merge the given object into the existing one (spec, status, labels...).
    pub fn apply(&self, obj: Value) -> Result<Value> {
        let ty = self.type_of_object(&obj)?;
        let (ns, name) = key_of(&obj);
        if self.shared.store.get(ty, &ns, &name).is_none() {
            return self.create(obj);
        }
        let (_, _, value) = self
            .shared
            .store
            .update_value(ty, &ns, &name, Scope::Any, |v| {
                merge_patch(v, &obj);
                Ok(())
            })?;
        Ok(value)
    }

    /// Merge-patch (RFC 7386) an object, spec and status alike.
    pub fn patch(&self, kind: &str, ns: &str, name: &str, patch: &Value) -> Result<Value> {
        self.update(kind, ns, name, |v| {
            merge_patch(v, patch);
            Ok(())
        })
    }

    /// Change an object with a closure (one resourceVersion, one MODIFIED event; none if the
    /// closure changes nothing).
    pub fn update(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut Value) -> Result<()>,
    ) -> Result<Value> {
        let ty = self.type_of(kind)?;
        let (_, _, value) = self
            .shared
            .store
            .update_value(ty, ns, name, Scope::Any, f)?;
        Ok(value)
    }

    /// Simulate one reconciliation of an object by its controller: the status is rendered as
    /// Flux writes it for `health` (conditions, revisions, history...) in one write, and the
    /// controller's Event is emitted. `advance` moves the object to its next revision.
    pub fn reconcile(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        health: Health,
        advance: bool,
    ) -> Result<Value> {
        let ty = self.type_of(kind)?;
        reconcile::reconcile(
            &self.shared,
            ty,
            ns,
            name,
            reconcile::Step { health, advance },
            |_| {},
        )
    }

    /// Delete an object; returns it as it was deleted. Deleting a Namespace deletes every
    /// object in it first (each with its own DELETED event).
    pub fn delete(&self, kind: &str, ns: &str, name: &str) -> Result<Value> {
        let ty = self.type_of(kind)?;
        if ty == self.shared.catalog.namespace_type() {
            delete_namespace_contents(&self.shared, name);
        }
        parse(&self.shared.store.delete(ty, ns, name)?.bytes)
    }

    /// One object.
    pub fn get(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let ty = self.type_of(kind).ok()?;
        self.shared
            .store
            .get(ty, ns, name)
            .and_then(|s| parse(&s.bytes).ok())
    }

    /// All objects of a kind, optionally in one namespace, ordered by namespace and name.
    pub fn list(&self, kind: &str, ns: Option<&str>) -> Vec<Value> {
        let Ok(ty) = self.type_of(kind) else {
            return Vec::new();
        };
        let st = self.shared.store.read(ty);
        let stored: Vec<_> = st
            .objects
            .iter()
            .filter(|(k, _)| ns.is_none_or(|n| k.0 == n))
            .map(|(_, o)| o.clone())
            .collect();
        drop(st);
        stored.iter().filter_map(|s| parse(&s.bytes).ok()).collect()
    }

    /// Keys `(namespace, name)` of all objects of a kind (cheap: nothing is parsed).
    pub fn keys(&self, kind: &str) -> Vec<(String, String)> {
        let Ok(ty) = self.type_of(kind) else {
            return Vec::new();
        };
        self.shared.store.read(ty).objects.keys().cloned().collect()
    }

    /// Number of objects of a kind.
    pub fn count(&self, kind: &str) -> usize {
        self.type_of(kind)
            .map_or(0, |ty| self.shared.store.count(ty))
    }

    /// Total number of objects of every kind.
    pub fn total(&self) -> usize {
        (0..self.shared.catalog.types.len())
            .map(|t| self.shared.store.count(t))
            .sum()
    }

    /// `(apiVersion, kind)` of core/v1 Namespace and Event and of every served Flux kind,
    /// storage version (the workload kinds are [`workload_kinds`](Self::workload_kinds)).
    pub fn kinds(&self) -> Vec<(String, &'static str)> {
        self.kinds_where(|t| matches!(t.class, Class::Core | Class::Flux))
    }

    /// `(apiVersion, kind)` of the workload kinds (Deployment, StatefulSet, DaemonSet, Job,
    /// CronJob, Service, PersistentVolumeClaim, Ingress).
    pub fn workload_kinds(&self) -> Vec<(String, &'static str)> {
        self.kinds_where(ResourceType::is_workload)
    }

    fn kinds_where(&self, keep: impl Fn(&ResourceType) -> bool) -> Vec<(String, &'static str)> {
        self.shared
            .catalog
            .types
            .iter()
            .filter(|t| keep(t))
            .map(|t| (t.api_version(), t.kind))
            .collect()
    }

    /// Simulate one step of a workload's rollout by its Kubernetes controller (a new image
    /// rolling out, done, stuck past its deadline, scaled) in one write; see [`WorkloadStep`].
    pub fn workload(&self, kind: &str, ns: &str, name: &str, step: WorkloadStep) -> Result<Value> {
        let ty = self.type_of(kind)?;
        workloadctl::step(&self.shared, ty, ns, name, &[step])
    }
}

fn parse(bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::new(500, "InternalError", e.to_string()))
}

/// Delete every namespaced object in `ns` (the namespace controller's job, done at once).
pub fn delete_namespace_contents(shared: &Shared, ns: &str) {
    for ty in (0..shared.catalog.types.len()).filter(|&t| shared.catalog.types[t].namespaced) {
        let names: Vec<String> = shared
            .store
            .read(ty)
            .objects
            .keys()
            .filter(|k| k.0 == ns)
            .map(|k| k.1.clone())
            .collect();
        for name in names {
            let _ = shared.store.delete(ty, ns, &name);
        }
    }
}
