//! Subscription filters: which changes and cluster messages a subscriber receives.
//!
//! Every list is "any of"; an empty list matches everything; the lists combine with "and".
//! Health matches a change when the object's health *before or after* it is in the set, so a
//! subscriber watching `failed` objects also sees the change that makes one recover.

use uuid::Uuid;

use crate::flux::{self, Health};
use crate::store::ChangeEntry;

/// Most entries in one filter list: a filter is a selection, not a data set.
pub const MAX_ENTRIES: usize = 1000;

/// Why a filter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Not a Flux kind, plural or short name.
    #[error(
        "unknown kind {0:?}: use a Flux kind such as Kustomization, its plural or its short name (ks)"
    )]
    UnknownKind(String),
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
    health: Vec<Health>,
    name_prefix: String,
}

fn check_len<T>(list: &[T], what: &'static str) -> Result<(), FilterError> {
    if list.len() > MAX_ENTRIES {
        Err(FilterError::TooLong(what))
    } else {
        Ok(())
    }
}

impl Filter {
    /// Validate a filter: kinds may be given as kind, plural or short name (any case), and
    /// workload kinds as kind or plural (`Deployment`, `deployments`); clusters by id or name.
    pub fn new(
        clusters: &[String],
        kinds: &[String],
        namespaces: &[String],
        health: &[Health],
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
                    .or_else(|| flux::workload_kind(k).map(|wk| wk.kind))
                    .ok_or_else(|| FilterError::UnknownKind(k.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Filter {
            clusters,
            kinds,
            namespaces: namespaces.to_vec(),
            health: health.to_vec(),
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

    /// Whether a change passes; `now` is the object's health now (an event's health clause
    /// looks at it, see [`ChangeEntry::health_seen`]).
    pub fn matches(&self, change: &ChangeEntry, now: Option<Health>) -> bool {
        self.matches_cluster(change.cluster_id, change.cluster_name.as_deref())
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| *k == change.kind))
            && (self.namespaces.is_empty() || self.namespaces.contains(&change.namespace))
            && change.name.starts_with(&self.name_prefix)
            && (self.health.is_empty()
                || change
                    .health_seen(now)
                    .iter()
                    .flatten()
                    .any(|h| self.health.contains(h)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::flux::ChangeOp;

    fn change(
        kind: &str,
        ns: &str,
        name: &str,
        before: Option<Health>,
        after: Option<Health>,
    ) -> ChangeEntry {
        ChangeEntry {
            seq: 1,
            at: DateTime::default(),
            cluster_id: Uuid::from_u128(1),
            cluster_name: Some("prod".into()),
            resource_id: Uuid::from_u128(2),
            api_group: "g".into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
            op: ChangeOp::Upsert,
            health_before: before,
            health_after: after,
            event_type: None,
            revision: None,
            reason: None,
            message: None,
            version: None,
            summary: None,
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// A change of kind `kind` in namespace `a` named `x`, without health.
    fn of_kind(kind: &str) -> ChangeEntry {
        change(kind, "a", "x", None, None)
    }

    #[test]
    fn an_empty_filter_matches_everything() {
        assert!(Filter::default().matches(&of_kind("Kustomization"), None));
        assert!(Filter::default().matches_cluster(Uuid::nil(), None));
    }

    #[test]
    fn kinds_accept_plural_and_short_names_in_any_case() {
        let f = Filter::new(&[], &strings(&["ks", "HelmReleases"]), &[], &[], "").unwrap();
        assert!(f.matches(&of_kind("Kustomization"), None));
        assert!(f.matches(&of_kind("HelmRelease"), None));
        assert!(!f.matches(&of_kind("GitRepository"), None));
    }

    #[test]
    fn workload_kinds_filter_by_kind_or_plural() {
        let f = Filter::new(&[], &strings(&["deployments", "Service"]), &[], &[], "").unwrap();
        assert!(f.matches(&of_kind("Deployment"), None));
        assert!(f.matches(&of_kind("Service"), None));
        assert!(!f.matches(&of_kind("Kustomization"), None));
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
        let k = of_kind("Kustomization");
        assert!(by_id.matches(&k, None) && by_name.matches(&k, None) && !other.matches(&k, None));
        assert!(
            !by_name.matches_cluster(Uuid::from_u128(1), None),
            "a deleted cluster has no name"
        );
    }

    #[test]
    fn health_matches_before_or_after_so_recoveries_are_seen() {
        use Health::*;
        let f = Filter::new(&[], &[], &[], &[Failed], "").unwrap();
        let ks = |before, after| change("Kustomization", "a", "x", before, after);
        assert!(f.matches(&ks(Some(Ready), Some(Failed)), None));
        assert!(f.matches(&ks(Some(Failed), Some(Ready)), None));
        assert!(!f.matches(&ks(Some(Ready), Some(Progressing)), None));
        assert!(
            !f.matches(&ks(None, None), Some(Failed)),
            "the object's health now is for events"
        );
    }

    #[test]
    fn an_event_matches_by_the_health_of_its_object_now() {
        let f = Filter::new(&[], &[], &[], &[Health::Failed], "").unwrap();
        let event = ChangeEntry {
            op: ChangeOp::Event,
            event_type: Some(crate::flux::EventType::Warning),
            ..of_kind("Kustomization")
        };
        assert!(f.matches(&event, Some(Health::Failed)));
        assert!(!f.matches(&event, Some(Health::Ready)));
        assert!(!f.matches(&event, None), "the object is gone");
    }

    #[test]
    fn namespaces_and_name_prefix_combine_with_and() {
        let f = Filter::new(&[], &[], &strings(&["apps", "infra"]), &[], "web-").unwrap();
        let named = |ns: &str, name: &str| change("Kustomization", ns, name, None, None);
        assert!(f.matches(&named("apps", "web-frontend"), None));
        assert!(!f.matches(&named("apps", "api"), None));
        assert!(!f.matches(&named("flux-system", "web-frontend"), None));
    }

    #[test]
    fn unknown_kinds_and_long_lists_are_refused() {
        assert_eq!(
            Filter::new(&[], &strings(&["Kustomizaton"]), &[], &[], ""),
            Err(FilterError::UnknownKind("Kustomizaton".into()))
        );
        let many = vec!["ns".to_string(); MAX_ENTRIES + 1];
        assert_eq!(
            Filter::new(&[], &[], &many, &[], ""),
            Err(FilterError::TooLong("namespaces"))
        );
    }
}
