//! Rules and mutes: which objects (the stream's filter, plus cluster labels) and which
//! condition. Pure: validated here, stored as JSON by `store`, evaluated by the engine.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::live::Filter;

/// Which objects a rule or mute covers. Every list is "any of", empty matches all; the parts
/// combine with "and" (the stream's filter semantics), plus cluster labels that must all match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleFilter {
    /// Clusters by id or name.
    #[serde(default)]
    pub clusters: Vec<String>,
    /// Labels every matching cluster has.
    #[serde(default)]
    pub cluster_labels: BTreeMap<String, String>,
    /// Flux kinds (kind, plural or short name) and the workload kinds the stream knows
    /// (kind or plural); stored as the kind.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Namespaces.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Object names starting with this.
    #[serde(default)]
    pub name_prefix: String,
}

/// Most cluster labels in a filter (as for token scopes).
const MAX_LABELS: usize = 16;

impl RuleFilter {
    /// Validate with the stream's parser and return the canonical form (kinds as their kind
    /// names). Errors start with the field's name.
    pub fn validated(mut self) -> Result<RuleFilter, String> {
        Filter::new(
            &self.clusters,
            &self.kinds,
            &self.namespaces,
            &[],
            &self.name_prefix,
        )
        .map_err(|e| {
            let field = match e {
                crate::live::FilterError::UnknownKind(_) => "filter.kinds",
                crate::live::FilterError::TooLong(what) => what,
            };
            format!("{field}: {e}")
        })?;
        self.kinds = self
            .kinds
            .iter()
            .filter_map(|k| {
                crate::flux::lookup(k)
                    .map(|fk| fk.kind)
                    .or_else(|| crate::flux::workload_kind(k).map(|wk| wk.kind))
                    .map(String::from)
            })
            .collect();
        let blank = |s: &String| s.trim().is_empty() || s.len() > 253;
        if self.clusters.iter().chain(&self.namespaces).any(blank) {
            return Err("filter: cluster and namespace entries of 1–253 characters".into());
        }
        if self.name_prefix.len() > 253 {
            return Err("filter.namePrefix: at most 253 characters".into());
        }
        let labels = &self.cluster_labels;
        if labels.len() > MAX_LABELS || labels.iter().any(|(k, v)| blank(k) || blank(v)) {
            return Err(format!(
                "filter.clusterLabels: at most {MAX_LABELS} labels, keys and values of 1–253 characters"
            ));
        }
        Ok(self)
    }
}

/// When a rule sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// An object becomes failed.
    Failed,
    /// An object becomes stalled.
    Stalled,
    /// An object is still failed after N minutes (no message for blips).
    StillFailed,
    /// An object recovers after a failure this rule notified.
    Recovered,
    /// A cluster becomes unreachable (also unauthorized or forbidden: nothing is watched).
    ClusterUnreachable,
    /// A cluster becomes degraded.
    ClusterDegraded,
    /// A cluster is ready again after one of the two above was notified.
    ClusterRecovered,
}

const CONDITIONS: [Condition; 7] = [
    Condition::Failed,
    Condition::Stalled,
    Condition::StillFailed,
    Condition::Recovered,
    Condition::ClusterUnreachable,
    Condition::ClusterDegraded,
    Condition::ClusterRecovered,
];

impl Condition {
    /// The stored and API word.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Failed => "failed",
            Condition::Stalled => "stalled",
            Condition::StillFailed => "stillFailed",
            Condition::Recovered => "recovered",
            Condition::ClusterUnreachable => "clusterUnreachable",
            Condition::ClusterDegraded => "clusterDegraded",
            Condition::ClusterRecovered => "clusterRecovered",
        }
    }

    /// The condition of a word.
    pub fn parse(word: &str) -> Option<Condition> {
        CONDITIONS.into_iter().find(|c| c.as_str() == word)
    }

    /// `afterMinutes` is required by `stillFailed` and refused by the others.
    pub fn check_minutes(self, minutes: Option<i32>) -> Result<(), String> {
        match (self, minutes) {
            (Condition::StillFailed, Some(1..=1440)) => Ok(()),
            (Condition::StillFailed, _) => {
                Err("afterMinutes: stillFailed needs 1–1440 minutes".into())
            }
            (_, None) => Ok(()),
            (_, Some(_)) => Err("afterMinutes: only for the stillFailed condition".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(kinds: &[&str]) -> RuleFilter {
        RuleFilter {
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
            ..RuleFilter::default()
        }
    }

    #[test]
    fn kinds_are_parsed_like_the_streams_and_stored_as_kinds() {
        let f = filter(&["ks", "helmreleases"]).validated().unwrap();
        assert_eq!(f.kinds, ["Kustomization", "HelmRelease"]);
        let deployments = filter(&["deployments"]).validated().unwrap();
        assert_eq!(deployments.kinds, ["Deployment"]);
        let err = filter(&["Pod"]).validated().unwrap_err();
        assert!(err.starts_with("filter.kinds: unknown kind"), "{err}");
    }

    #[test]
    fn blank_entries_and_too_many_labels_are_refused() {
        let blank = RuleFilter {
            namespaces: vec![" ".into()],
            ..RuleFilter::default()
        };
        assert!(blank.validated().is_err());
        let labels = (0..17)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        let many = RuleFilter {
            cluster_labels: labels,
            ..RuleFilter::default()
        };
        assert!(
            many.validated()
                .unwrap_err()
                .starts_with("filter.clusterLabels")
        );
    }

    #[test]
    fn the_filter_json_refuses_unknown_fields() {
        let bad = serde_json::from_value::<RuleFilter>(serde_json::json!({"health": ["failed"]}));
        assert!(bad.is_err());
        let ok: RuleFilter =
            serde_json::from_value(serde_json::json!({"clusterLabels": {"env": "prod"}})).unwrap();
        assert_eq!(ok.cluster_labels["env"], "prod");
    }

    #[test]
    fn only_still_failed_takes_minutes() {
        for c in CONDITIONS {
            assert_eq!(Condition::parse(c.as_str()), Some(c));
        }
        assert!(Condition::StillFailed.check_minutes(Some(10)).is_ok());
        assert!(Condition::StillFailed.check_minutes(None).is_err());
        assert!(Condition::StillFailed.check_minutes(Some(0)).is_err());
        assert!(Condition::Failed.check_minutes(Some(10)).is_err());
        assert!(Condition::Failed.check_minutes(None).is_ok());
        assert_eq!(Condition::parse("rolloutStarted"), None);
    }
}
