//! The detail view of one resource: its object, conditions, inventory and recent history.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use serde_json::Value;

use crate::api::events::Event;
use crate::api::model::{Change, ResourceSummary};
use crate::flux;

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
pub struct InventoryEntry {
    /// The entry id as stored: `<namespace>_<name>_<group>_<kind>`.
    pub id: String,
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

/// Parse an inventory id as Flux (cli-utils `ParseObjMetadata`) writes it:
/// `<namespace>_<name>_<group>_<kind>`, where the name may contain `_`, and the colons of RBAC
/// names are written as `__`. Returns (namespace, name, group, kind).
pub fn parse_inventory_id(id: &str) -> Option<(String, String, String, String)> {
    let (namespace, rest) = id.split_once('_')?;
    let (rest, kind) = rest.rsplit_once('_')?;
    let (name, group) = rest.rsplit_once('_')?;
    if kind.is_empty() || name.is_empty() {
        return None;
    }
    let rbac = group == "rbac.authorization.k8s.io"
        && matches!(
            kind,
            "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding"
        );
    let name = if rbac {
        name.replace("__", ":")
    } else {
        name.to_string()
    };
    Some((
        namespace.to_string(),
        name,
        group.to_string(),
        kind.to_string(),
    ))
}

/// `status.inventory.entries`, grouped by kind; `None` when the object has no inventory.
/// Entries whose id cannot be parsed are left out.
pub fn inventory_of(object: &Value) -> Option<Inventory> {
    let entries = object.pointer("/status/inventory/entries")?.as_array()?;
    let mut groups: BTreeMap<(String, String), Vec<InventoryEntry>> = BTreeMap::new();
    for entry in entries {
        let Some(id) = entry.get("id").and_then(Value::as_str) else {
            continue;
        };
        let Some((namespace, name, group, kind)) = parse_inventory_id(id) else {
            continue;
        };
        let version = entry
            .get("v")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        groups
            .entry((kind, group))
            .or_default()
            .push(InventoryEntry {
                id: id.to_string(),
                version,
                namespace,
                name,
            });
    }
    let groups: Vec<InventoryGroup> = groups
        .into_iter()
        .map(|((kind, group), mut entries)| {
            entries.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
            InventoryGroup {
                group,
                kind,
                entries,
            }
        })
        .collect();
    let total = groups.iter().map(|g| g.entries.len() as u64).sum();
    Some(Inventory { total, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/src/flux/fixtures/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn parts(id: &str) -> Option<(String, String, String, String)> {
        parse_inventory_id(id)
    }

    fn t(a: &str, b: &str, c: &str, d: &str) -> Option<(String, String, String, String)> {
        Some((a.into(), b.into(), c.into(), d.into()))
    }

    #[test]
    fn inventory_ids_split_into_namespace_name_group_and_kind() {
        assert_eq!(
            parts("apps_podinfo_apps_Deployment"),
            t("apps", "podinfo", "apps", "Deployment")
        );
        assert_eq!(
            parts("_flux-system__Namespace"),
            t("", "flux-system", "", "Namespace")
        );
        assert_eq!(
            parts("_system__controller_rbac.authorization.k8s.io_ClusterRole"),
            t(
                "",
                "system:controller",
                "rbac.authorization.k8s.io",
                "ClusterRole"
            )
        );
        assert_eq!(
            parts("ns_a_b_c_d"),
            t("ns", "a_b", "c", "d"),
            "underscores stay in the name"
        );
        for bad in ["", "nounderscore", "a_b", "ns__g_", "ns___Kind"] {
            assert_eq!(parts(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_kustomization_inventory_is_grouped_by_kind() {
        let inventory = inventory_of(&fixture("kustomization-ready")).expect("has an inventory");
        assert_eq!(inventory.total, 3);
        let kinds: Vec<&str> = inventory.groups.iter().map(|g| g.kind.as_str()).collect();
        assert_eq!(kinds, ["GitRepository", "Kustomization", "Namespace"]);
        let ns = &inventory.groups[2];
        assert_eq!(
            (
                ns.group.as_str(),
                ns.entries[0].name.as_str(),
                ns.entries[0].version.as_str()
            ),
            ("", "flux-system", "v1")
        );
        assert_eq!(inventory.groups[0].group, "source.toolkit.fluxcd.io");
    }

    #[test]
    fn objects_without_an_inventory_have_none() {
        assert_eq!(inventory_of(&fixture("helmrelease-ready")), None);
        assert_eq!(
            inventory_of(&serde_json::json!({"status": {"inventory": {"entries": []}}}))
                .map(|i| i.total),
            Some(0)
        );
    }
}
