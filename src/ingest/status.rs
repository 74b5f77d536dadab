//! A cluster's state from its watchers' states (pure, unit-tested), and the JSON per kind
//! stored in `cluster_status.kinds`.

use std::collections::BTreeMap;

use serde_json::json;

use super::watch::WatchState;

/// State of one kind on one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindState {
    /// The cluster does not serve the kind.
    Absent,
    /// Served at `version`; the watcher is in `state`.
    Served {
        /// The version discovery picked.
        version: String,
        /// The watcher's state.
        state: WatchState,
    },
}

impl KindState {
    /// The JSON stored per kind.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            KindState::Absent => json!({"state": "absent"}),
            KindState::Served { version, state } => match state {
                WatchState::Listing => json!({"state": "listing", "version": version}),
                WatchState::Watching => json!({"state": "watching", "version": version}),
                WatchState::Failing {
                    message,
                    detail,
                    auth,
                } => json!({
                    "state": if *auth { "forbidden" } else { "error" },
                    "version": version,
                    "message": message,
                    "detail": detail,
                }),
            },
        }
    }
}

/// The cluster's state and message from its kinds: `connecting` until every served kind has
/// listed once, `unreachable` when every served kind is failing, `degraded` when some are,
/// `ready` otherwise.
pub fn cluster_state(kinds: &BTreeMap<&'static str, KindState>) -> (&'static str, String) {
    let served: Vec<(&str, &WatchState)> = kinds
        .iter()
        .filter_map(|(name, k)| match k {
            KindState::Served { state, .. } => Some((*name, state)),
            KindState::Absent => None,
        })
        .collect();
    let failing: Vec<(&str, &String)> = served
        .iter()
        .filter_map(|(name, s)| match s {
            WatchState::Failing { message, .. } => Some((*name, message)),
            _ => None,
        })
        .collect();
    if served.is_empty() {
        return ("ready", "no Flux kinds are served by this cluster".into());
    }
    if failing.len() == served.len() {
        let (_, message) = failing[0];
        return ("unreachable", format!("every watch is failing: {message}"));
    }
    if !failing.is_empty() {
        let names: Vec<&str> = failing.iter().map(|(n, _)| *n).collect();
        let (first, message) = failing[0];
        return (
            "degraded",
            format!("{} failing ({first}: {message})", names.join(", ")),
        );
    }
    if served.iter().any(|(_, s)| **s == WatchState::Listing) {
        return ("connecting", "listing Flux objects".into());
    }
    ("ready", String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(state: WatchState) -> KindState {
        KindState::Served {
            version: "v1".into(),
            state,
        }
    }

    fn failing(message: &str, auth: bool) -> WatchState {
        WatchState::Failing {
            message: message.into(),
            detail: format!("{message}, in full"),
            auth,
        }
    }

    #[test]
    fn a_cluster_is_connecting_until_every_kind_has_listed() {
        let kinds = BTreeMap::from([
            ("Kustomization", served(WatchState::Watching)),
            ("HelmRelease", served(WatchState::Listing)),
            ("Bucket", KindState::Absent),
        ]);
        assert_eq!(cluster_state(&kinds).0, "connecting");
    }

    #[test]
    fn absent_kinds_do_not_keep_a_cluster_from_ready() {
        let kinds = BTreeMap::from([
            ("Kustomization", served(WatchState::Watching)),
            ("Bucket", KindState::Absent),
        ]);
        assert_eq!(cluster_state(&kinds), ("ready", String::new()));
    }

    #[test]
    fn some_failing_kinds_make_a_cluster_degraded_and_are_named() {
        let kinds = BTreeMap::from([
            ("Kustomization", served(WatchState::Watching)),
            ("HelmRelease", served(failing("403 forbidden", true))),
        ]);
        let (state, message) = cluster_state(&kinds);
        assert_eq!(state, "degraded");
        assert!(
            message.contains("HelmRelease") && message.contains("403"),
            "{message}"
        );
        assert_eq!(kinds["HelmRelease"].to_json()["state"], "forbidden");
    }

    #[test]
    fn every_kind_failing_means_unreachable() {
        let kinds = BTreeMap::from([
            (
                "Kustomization",
                served(failing("connection refused", false)),
            ),
            ("HelmRelease", served(failing("connection refused", false))),
        ]);
        assert_eq!(cluster_state(&kinds).0, "unreachable");
    }
}
