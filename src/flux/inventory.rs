//! What a Kustomization applied: `status.inventory.entries[]`, each an id Flux writes with
//! cli-utils' `ObjMetadata` format (`<namespace>_<name>_<group>_<kind>`) and the version the
//! object was applied at.

use std::collections::BTreeMap;

use serde_json::Value;

/// An applied object, by group, kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppliedRef {
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// API group (empty for the core group).
    pub group: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
}

/// One inventory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryItem {
    /// The entry id as stored.
    pub id: String,
    /// API version it was applied at, e.g. `v1` (empty when not recorded).
    pub version: String,
    /// The object.
    pub object: AppliedRef,
}

/// The entries of one group and kind, by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindInventory {
    /// API group (empty for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// The entries.
    pub items: Vec<InventoryItem>,
}

/// Parse an inventory id as Flux (cli-utils `ParseObjMetadata`) writes it:
/// `<namespace>_<name>_<group>_<kind>`, where the name may contain `_`, and the colons of RBAC
/// names are written as `__`.
pub fn parse_inventory_id(id: &str) -> Option<AppliedRef> {
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
    Some(AppliedRef {
        namespace: namespace.to_string(),
        name,
        group: group.to_string(),
        kind: kind.to_string(),
    })
}

/// `status.inventory.entries` in stored order; `None` when the object has no inventory.
/// Entries whose id cannot be parsed are left out.
pub fn inventory(object: &Value) -> Option<Vec<InventoryItem>> {
    let entries = object.pointer("/status/inventory/entries")?.as_array()?;
    let items = entries
        .iter()
        .filter_map(|entry| {
            let id = entry.get("id")?.as_str()?;
            let object = parse_inventory_id(id)?;
            let version = entry.get("v").and_then(Value::as_str).unwrap_or_default();
            Some(InventoryItem {
                id: id.to_string(),
                version: version.to_string(),
                object,
            })
        })
        .collect();
    Some(items)
}

/// [`inventory`] grouped by kind (then group), each group by namespace and name.
pub fn inventory_by_kind(object: &Value) -> Option<Vec<KindInventory>> {
    let mut groups: BTreeMap<(String, String), Vec<InventoryItem>> = BTreeMap::new();
    for item in inventory(object)? {
        let key = (item.object.kind.clone(), item.object.group.clone());
        groups.entry(key).or_default().push(item);
    }
    let groups = groups
        .into_iter()
        .map(|((kind, group), mut items)| {
            items.sort_by(|a, b| {
                (&a.object.namespace, &a.object.name).cmp(&(&b.object.namespace, &b.object.name))
            });
            KindInventory { group, kind, items }
        })
        .collect();
    Some(groups)
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
        parse_inventory_id(id).map(|r| (r.namespace, r.name, r.group, r.kind))
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
        let groups = inventory_by_kind(&fixture("kustomization-ready")).expect("has an inventory");
        let kinds: Vec<&str> = groups.iter().map(|g| g.kind.as_str()).collect();
        assert_eq!(kinds, ["GitRepository", "Kustomization", "Namespace"]);
        assert_eq!(groups.iter().map(|g| g.items.len()).sum::<usize>(), 3);
        let ns = &groups[2];
        assert_eq!(
            (
                ns.group.as_str(),
                ns.items[0].object.name.as_str(),
                ns.items[0].version.as_str()
            ),
            ("", "flux-system", "v1")
        );
        assert_eq!(groups[0].group, "source.toolkit.fluxcd.io");
    }

    #[test]
    fn objects_without_an_inventory_have_none() {
        assert_eq!(inventory(&fixture("helmrelease-ready")), None);
        let empty = serde_json::json!({"status": {"inventory": {"entries": []}}});
        assert_eq!(inventory_by_kind(&empty), Some(vec![]));
    }

    #[test]
    fn unparseable_entries_are_left_out() {
        let object = serde_json::json!({"status": {"inventory": {"entries": [
            {"id": "nounderscore", "v": "v1"},
            {"id": "apps_web_apps_Deployment", "v": "v1"},
            {"v": "v1"}
        ]}}});
        let items = inventory(&object).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].object.name, "web");
    }
}
