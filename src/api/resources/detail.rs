//! The detail view of one resource: its object, conditions, inventory and recent history.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use serde_json::Value;
use uuid::Uuid;

use crate::api::events::Event;
use crate::api::model::{Change, Health, ResourceSummary};
use crate::flux;
use crate::store::resource_id;

/// One entry of `status.conditions`.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct ResourceCondition {
    /// Condition type: `Ready`, `Reconciling`, `Stalled`, `Healthy`, `Released`…
    #[oai(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason, e.g. `HealthCheckFailed`.
    pub reason: Option<String>,
    /// Human-readable message.
    pub message: Option<String>,
    /// When the status last changed.
    pub last_transition_time: Option<DateTime<Utc>>,
    /// The generation the condition was computed for.
    pub observed_generation: Option<i64>,
}

impl From<flux::Condition> for ResourceCondition {
    fn from(c: flux::Condition) -> ResourceCondition {
        ResourceCondition {
            type_: c.type_,
            status: c.status,
            reason: c.reason,
            message: c.message,
            last_transition_time: c.last_transition_time,
            observed_generation: c.observed_generation,
        }
    }
}

/// One object a Kustomization applied (`status.inventory.entries[]`).
#[derive(Object, Debug, Clone, PartialEq, Eq)]
#[oai(rename_all = "camelCase")]
pub struct InventoryEntry {
    /// The entry id as stored: `<namespace>_<name>_<group>_<kind>`.
    pub id: String,
    /// The object's resource id (`GET /api/v1/resources/{id}` answers it when it is stored).
    pub resource_id: Uuid,
    /// Its health when it is stored (a Flux object, or a watched workload); null for kinds
    /// that are not watched (ConfigMaps, …) and objects not seen.
    pub health: Option<Health>,
    /// API version of the applied object, e.g. `v1`.
    pub version: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// The inventory entries of one group and kind.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct InventoryGroup {
    /// API group (empty for the core group).
    pub group: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// The objects, by namespace and name.
    pub entries: Vec<InventoryEntry>,
}

/// What a Kustomization applied, grouped by kind.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// Number of entries.
    pub total: u64,
    /// Entries grouped by kind and group, sorted by kind.
    pub groups: Vec<InventoryGroup>,
}

/// One resource with everything the detail page shows.
#[derive(Object, Debug, Clone)]
#[oai(rename_all = "camelCase")]
pub struct ResourceDetail {
    /// The summary, as lists show it.
    pub resource: ResourceSummary,
    /// Kind-specific revision context, e.g. the chart version of a HelmRelease.
    pub revision_detail: Option<String>,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `status.observedGeneration`.
    pub observed_generation: Option<i64>,
    /// When the orchestrator first stored the object.
    pub created_at: DateTime<Utc>,
    /// The object as last seen, without `metadata.managedFields` and without kubectl's
    /// last-applied-configuration annotation.
    pub object: Value,
    /// `status.conditions`.
    pub conditions: Vec<ResourceCondition>,
    /// `status.inventory` of a Kustomization; null for other kinds or before the first apply.
    pub inventory: Option<Inventory>,
    /// The 50 newest change-log entries (all of them: `GET /api/v1/resources/{id}/changes`).
    pub changes: Vec<Change>,
    /// The 50 newest controller events (all of them: `GET /api/v1/resources/{id}/events`).
    pub events: Vec<Event>,
}

impl Inventory {
    /// The inventory of `object` (of cluster `cluster_id`), grouped by kind; `None` when it
    /// has none. Health is filled in by [`Inventory::with_health`].
    pub fn of(cluster_id: Uuid, object: &Value) -> Option<Inventory> {
        let entry = |item: flux::InventoryItem| {
            let o = &item.object;
            InventoryEntry {
                resource_id: resource_id(cluster_id, &o.group, &o.kind, &o.namespace, &o.name),
                health: None,
                id: item.id,
                version: item.version,
                namespace: item.object.namespace,
                name: item.object.name,
            }
        };
        let groups: Vec<InventoryGroup> = flux::inventory_by_kind(object)?
            .into_iter()
            .map(|g| InventoryGroup {
                group: g.group,
                kind: g.kind,
                entries: g.items.into_iter().map(entry).collect(),
            })
            .collect();
        let total = groups.iter().map(|g| g.entries.len() as u64).sum();
        Some(Inventory { total, groups })
    }

    /// The entries' resource ids.
    pub fn ids(&self) -> Vec<Uuid> {
        let entries = self.groups.iter().flat_map(|g| &g.entries);
        entries.map(|e| e.resource_id).collect()
    }

    /// Each entry's health from the stored objects' (`healths` by resource id).
    pub fn with_health(mut self, healths: &HashMap<Uuid, flux::Health>) -> Inventory {
        for entry in self.groups.iter_mut().flat_map(|g| &mut g.entries) {
            entry.health = healths.get(&entry.resource_id).map(|h| Health::from(*h));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_inventory_counts_and_groups_what_flux_parsed() {
        let object = serde_json::json!({"status": {"inventory": {"entries": [
            {"id": "apps_web_apps_Deployment", "v": "v1"},
            {"id": "apps_api_apps_Deployment", "v": "v1"},
            {"id": "_apps__Namespace", "v": "v1"}
        ]}}});
        let cluster = Uuid::from_u128(1);
        let inventory = Inventory::of(cluster, &object).unwrap();
        assert_eq!(inventory.total, 3);
        let deployments = &inventory.groups[0];
        assert_eq!(
            (deployments.kind.as_str(), deployments.entries.len()),
            ("Deployment", 2)
        );
        assert_eq!(deployments.entries[0].name, "api");
        let api = resource_id(cluster, "apps", "Deployment", "apps", "api");
        assert_eq!(deployments.entries[0].resource_id, api);
        let healths = HashMap::from([(api, flux::Health::Failed)]);
        let inventory = inventory.with_health(&healths);
        assert_eq!(inventory.groups[0].entries[0].health, Some(Health::Failed));
        assert_eq!(inventory.groups[0].entries[1].health, None);
        assert_eq!(Inventory::of(cluster, &serde_json::json!({})), None);
    }
}
