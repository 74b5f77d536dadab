//! Subscription filters: which changes and cluster messages a subscriber receives.
//!
//! Every list is "any of"; an empty list matches everything; the lists combine with "and".
//! Health matches a change when the object's health *before or after* it is in the set, so a
//! subscriber watching `failed` objects also sees the change that makes one recover.

use uuid::Uuid;

use crate::flux;

/// Most entries in one filter list: a filter is a selection, not a data set.
pub const MAX_ENTRIES: usize = 1000;

/// The health values the store writes.
const HEALTH: [&str; 6] = [
    "ready",
    "progressing",
    "failed",
    "stalled",
    "suspended",
    "unknown",
];

/// Why a filter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Not a Flux kind, plural or short name.
    #[error(
        "unknown kind {0:?}: use a Flux kind such as Kustomization, its plural or its short name (ks)"
    )]
    UnknownKind(String),
    /// Not one of the health values.
    #[error("unknown health {0:?}: use ready, progressing, failed, stalled, suspended or unknown")]
    UnknownHealth(String),
    /// A list longer than [`MAX_ENTRIES`].
    #[error("the {0} list has more than {MAX_ENTRIES} entries")]
    TooLong(&'static str),
}

/// A cluster named by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ClusterSel {
    Id(Uuid),
    Name(String),
}

/// A validated filter. `Filter::default()` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    clusters: Vec<ClusterSel>,
    kinds: Vec<&'static str>,
    namespaces: Vec<String>,
    health: Vec<&'static str>,
    name_prefix: String,
}

/// What a filter looks at in a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeKey {
    /// Cluster id.
    pub cluster_id: Uuid,
    /// Cluster name, if the cluster still exists.
    pub cluster_name: Option<String>,
    /// Kind (canonical spelling).
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Health before and after the change (for events: the object's current health).
    pub health: [Option<String>; 2],
}

fn check_len<T>(list: &[T], what: &'static str) -> Result<(), FilterError> {
    if list.len() > MAX_ENTRIES {
        Err(FilterError::TooLong(what))
    } else {
        Ok(())
    }
}

impl Filter {
    /// Validate a filter: kinds may be given as kind, plural or short name (any case); clusters
    /// by id or name.
    pub fn new(
        clusters: &[String],
        kinds: &[String],
        namespaces: &[String],
        health: &[String],
        name_prefix: &str,
    ) -> Result<Filter, FilterError> {
        check_len(clusters, "clusters")?;
        check_len(kinds, "kinds")?;
        check_len(namespaces, "namespaces")?;
        check_len(health, "health")?;
        let clusters = clusters
            .iter()
            .map(|c| {
                Uuid::parse_str(c).map_or_else(|_| ClusterSel::Name(c.clone()), ClusterSel::Id)
            })
            .collect();
        let kinds = kinds
            .iter()
            .map(|k| {
                flux::lookup(k)
                    .map(|fk| fk.kind)
                    .ok_or_else(|| FilterError::UnknownKind(k.clone()))
            })
            .collect::<Result<_, _>>()?;
        let health = health
            .iter()
            .map(|h| {
                HEALTH
                    .iter()
                    .find(|v| **v == h)
                    .copied()
                    .ok_or_else(|| FilterError::UnknownHealth(h.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Filter {
            clusters,
            kinds,
            namespaces: namespaces.to_vec(),
            health,
            name_prefix: name_prefix.to_string(),
        })
    }

    /// Whether a cluster message about this cluster passes (only `clusters` applies).
    pub fn matches_cluster(&self, id: Uuid, name: Option<&str>) -> bool {
        self.clusters.is_empty()
            || self.clusters.iter().any(|sel| match sel {
                ClusterSel::Id(want) => *want == id,
                ClusterSel::Name(want) => Some(want.as_str()) == name,
            })
    }

    /// Whether a change passes.
    pub fn matches(&self, key: &ChangeKey) -> bool {
        self.matches_cluster(key.cluster_id, key.cluster_name.as_deref())
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| *k == key.kind))
            && (self.namespaces.is_empty() || self.namespaces.contains(&key.namespace))
            && key.name.starts_with(&self.name_prefix)
            && (self.health.is_empty()
                || key
                    .health
                    .iter()
                    .flatten()
                    .any(|h| self.health.contains(&h.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(
        kind: &str,
        ns: &str,
        name: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> ChangeKey {
        ChangeKey {
            cluster_id: Uuid::from_u128(1),
            cluster_name: Some("prod".into()),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
            health: [before.map(Into::into), after.map(Into::into)],
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_empty_filter_matches_everything() {
        assert!(Filter::default().matches(&key("Kustomization", "a", "x", None, None)));
        assert!(Filter::default().matches_cluster(Uuid::nil(), None));
    }

    #[test]
    fn kinds_accept_plural_and_short_names_in_any_case() {
        let f = Filter::new(&[], &strings(&["ks", "HelmReleases"]), &[], &[], "").unwrap();
        assert!(f.matches(&key("Kustomization", "a", "x", None, None)));
        assert!(f.matches(&key("HelmRelease", "a", "x", None, None)));
        assert!(!f.matches(&key("GitRepository", "a", "x", None, None)));
    }

    #[test]
    fn clusters_match_by_id_or_by_name() {
        let by_id = Filter::new(
            &strings(&["00000000-0000-0000-0000-000000000001"]),
            &[],
            &[],
            &[],
            "",
        )
        .unwrap();
        let by_name = Filter::new(&strings(&["prod"]), &[], &[], &[], "").unwrap();
        let other = Filter::new(&strings(&["staging"]), &[], &[], &[], "").unwrap();
        let k = key("Kustomization", "a", "x", None, None);
        assert!(by_id.matches(&k) && by_name.matches(&k) && !other.matches(&k));
        assert!(
            !by_name.matches_cluster(Uuid::from_u128(1), None),
            "a deleted cluster has no name"
        );
    }

    #[test]
    fn health_matches_before_or_after_so_recoveries_are_seen() {
        let f = Filter::new(&[], &[], &[], &strings(&["failed"]), "").unwrap();
        assert!(f.matches(&key(
            "Kustomization",
            "a",
            "x",
            Some("ready"),
            Some("failed")
        )));
        assert!(f.matches(&key(
            "Kustomization",
            "a",
            "x",
            Some("failed"),
            Some("ready")
        )));
        assert!(!f.matches(&key(
            "Kustomization",
            "a",
            "x",
            Some("ready"),
            Some("progressing")
        )));
        assert!(!f.matches(&key("Kustomization", "a", "x", None, None)));
    }

    #[test]
    fn namespaces_and_name_prefix_combine_with_and() {
        let f = Filter::new(&[], &[], &strings(&["apps", "infra"]), &[], "web-").unwrap();
        assert!(f.matches(&key("Kustomization", "apps", "web-frontend", None, None)));
        assert!(!f.matches(&key("Kustomization", "apps", "api", None, None)));
        assert!(!f.matches(&key(
            "Kustomization",
            "flux-system",
            "web-frontend",
            None,
            None
        )));
    }

    #[test]
    fn unknown_kinds_and_health_values_are_refused() {
        assert_eq!(
            Filter::new(&[], &strings(&["Kustomizaton"]), &[], &[], ""),
            Err(FilterError::UnknownKind("Kustomizaton".into()))
        );
        assert_eq!(
            Filter::new(&[], &[], &[], &strings(&["red"]), ""),
            Err(FilterError::UnknownHealth("red".into()))
        );
        let many = vec!["ns".to_string(); MAX_ENTRIES + 1];
        assert_eq!(
            Filter::new(&[], &[], &many, &[], ""),
            Err(FilterError::TooLong("namespaces"))
        );
    }
}
