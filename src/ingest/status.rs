//! A cluster's state from its watchers' states (pure, unit-tested), and the watch status per
//! kind stored in `cluster_status.kinds`.
//!
//! The state says *why* a cluster is not ready, because each cause has a different fix:
//! `unauthorized` (the credentials are refused: update the kubeconfig), `forbidden` (RBAC:
//! grant a permission), `unreachable` (network, TLS, a hung or absent API server), `degraded`
//! (some kinds fail, named with what they need). Workload watches are optional: their failure
//! (RBAC that forbids Deployments, say) shows on the kind and never on the cluster's state.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::watch::WatchState;
use crate::clusters::failure::Cause;
use crate::flux::{self, ClusterState, KindStatus};
use crate::store::KindWatchStatus;

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
        /// A workload watch: its failure makes the kind unavailable, not the cluster degraded.
        optional: bool,
    },
}

impl KindState {
    /// The watch status stored per kind; `stalled` when the API server stopped answering while
    /// the watcher still believes it is listing or watching.
    pub fn to_watch(&self, stalled: bool) -> KindWatchStatus {
        let (version, state) = match self {
            KindState::Absent => return KindWatchStatus::new(KindStatus::Absent, None),
            KindState::Served { version, state, .. } => (Some(version.clone()), state),
        };
        let status = match state {
            WatchState::Listing | WatchState::Watching if stalled => KindStatus::Stalled,
            WatchState::Listing => KindStatus::Listing,
            WatchState::Watching => KindStatus::Watching,
            WatchState::Failing {
                message,
                detail,
                cause,
                retry_at,
            } => {
                let status = match cause {
                    Cause::Unauthorized => KindStatus::Unauthorized,
                    Cause::Forbidden => KindStatus::Forbidden,
                    Cause::Unreachable | Cause::Server => KindStatus::Error,
                };
                return KindWatchStatus {
                    message: Some(message.clone()),
                    detail: Some(detail.clone()),
                    retry_at: Some(*retry_at),
                    ..KindWatchStatus::new(status, version)
                };
            }
        };
        KindWatchStatus::new(status, version)
    }
}

/// A cluster's state as its kinds make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The cluster's state.
    pub state: ClusterState,
    /// One plain sentence (empty when ready).
    pub message: String,
    /// The soonest retry of a failing kind.
    pub next_retry_at: Option<DateTime<Utc>>,
}

impl Summary {
    fn new(state: ClusterState, message: impl Into<String>) -> Summary {
        Summary {
            state,
            message: message.into(),
            next_retry_at: None,
        }
    }
}

/// `plural.group` of a kind by name, as RBAC rules name it.
fn resource_name(kind: &str) -> String {
    match flux::lookup(kind) {
        Some(k) => format!("{}.{}", k.plural, k.group),
        None if kind == "Event" => "events".into(),
        None => kind.to_ascii_lowercase(),
    }
}

/// What the credentials need for the forbidden kinds.
fn permission_needed(names: &[&str]) -> String {
    let resources: Vec<String> = names.iter().map(|n| resource_name(n)).collect();
    format!(
        "the credentials may not list and watch {} (403 Forbidden): grant get, list and watch \
         on {} (see deploy/kubernetes/base/clusterrole.yaml)",
        names.join(", "),
        resources.join(", ")
    )
}

/// The cluster's state from its kinds: `connecting` until every served kind (workload watches
/// included) has listed once; when every served Flux kind fails, `unauthorized`, `forbidden` or
/// `unreachable` by their cause; `degraded` when some fail; `ready` otherwise. A failing
/// workload watch changes none of that: its kind is shown unavailable on its own.
pub fn cluster_state(kinds: &BTreeMap<&'static str, KindState>) -> Summary {
    let listing = kinds.values().any(|k| {
        matches!(
            k,
            KindState::Served {
                state: WatchState::Listing,
                ..
            }
        )
    });
    let served: Vec<(&str, &WatchState)> = kinds
        .iter()
        .filter_map(|(name, k)| match k {
            KindState::Served {
                state,
                optional: false,
                ..
            } => Some((*name, state)),
            KindState::Served { .. } | KindState::Absent => None,
        })
        .collect();
    let failing: Vec<(&str, &String, Cause, DateTime<Utc>)> = served
        .iter()
        .filter_map(|(name, s)| match s {
            WatchState::Failing {
                message,
                cause,
                retry_at,
                ..
            } => Some((*name, message, *cause, *retry_at)),
            _ => None,
        })
        .collect();
    if served.is_empty() {
        return Summary::new(
            ClusterState::Ready,
            "no Flux kinds are served by this cluster",
        );
    }
    let mut summary = if failing.is_empty() {
        if listing {
            return Summary::new(ClusterState::Connecting, "listing Flux objects");
        }
        return Summary::new(ClusterState::Ready, "");
    } else if failing.len() == served.len() {
        every_kind_failing(&failing)
    } else {
        some_kinds_failing(&failing)
    };
    summary.next_retry_at = failing.iter().map(|f| f.3).min();
    summary
}

type Failing<'a> = (&'a str, &'a String, Cause, DateTime<Utc>);

fn every_kind_failing(failing: &[Failing<'_>]) -> Summary {
    let all = |c: Cause| failing.iter().all(|f| f.2 == c);
    if all(Cause::Unauthorized) {
        return Summary::new(
            ClusterState::Unauthorized,
            "the cluster refuses the credentials (401 Unauthorized): the token or certificate \
             expired, was revoked or is wrong — update the cluster's kubeconfig",
        );
    }
    if all(Cause::Forbidden) {
        let names: Vec<&str> = failing.iter().map(|f| f.0).collect();
        return Summary::new(ClusterState::Forbidden, permission_needed(&names));
    }
    let (_, message, _, _) = failing[0];
    Summary::new(
        ClusterState::Unreachable,
        format!("every watch is failing: {message}"),
    )
}

fn some_kinds_failing(failing: &[Failing<'_>]) -> Summary {
    let forbidden: Vec<&str> = failing
        .iter()
        .filter(|f| f.2 == Cause::Forbidden)
        .map(|f| f.0)
        .collect();
    let other: Vec<&Failing<'_>> = failing.iter().filter(|f| f.2 != Cause::Forbidden).collect();
    let mut parts = Vec::new();
    if !forbidden.is_empty() {
        parts.push(permission_needed(&forbidden));
    }
    if let Some((first, message, _, _)) = other.first() {
        let names: Vec<&str> = other.iter().map(|f| f.0).collect();
        parts.push(format!("{} failing ({first}: {message})", names.join(", ")));
    }
    Summary::new(ClusterState::Degraded, parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(state: WatchState) -> KindState {
        KindState::Served {
            version: "v1".into(),
            state,
            optional: false,
        }
    }

    fn workload(state: WatchState) -> KindState {
        KindState::Served {
            version: "v1".into(),
            state,
            optional: true,
        }
    }

    #[test]
    fn a_forbidden_workload_kind_is_unavailable_without_failing_the_cluster() {
        let mut kinds = BTreeMap::from([
            ("Kustomization", served(WatchState::Watching)),
            (
                "Deployment (kustomize)",
                workload(failing("403 forbidden", Cause::Forbidden)),
            ),
        ]);
        assert_eq!(cluster_state(&kinds), Summary::new(ClusterState::Ready, ""));
        let kind = kinds["Deployment (kustomize)"].to_watch(false);
        assert_eq!(kind.state, KindStatus::Forbidden);
        kinds.insert("Service (helm)", workload(WatchState::Listing));
        assert_eq!(cluster_state(&kinds).state, ClusterState::Connecting);
    }

    fn failing(message: &str, cause: Cause) -> WatchState {
        WatchState::Failing {
            message: message.into(),
            detail: format!("{message}, in full"),
            cause,
            retry_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn a_cluster_is_connecting_until_every_kind_has_listed() {
        let kinds = BTreeMap::from([
            ("Kustomization", served(WatchState::Watching)),
            ("HelmRelease", served(WatchState::Listing)),
            ("Bucket", KindState::Absent),
        ]);
        assert_eq!(cluster_state(&kinds).state, ClusterState::Connecting);
    }

    #[test]
    fn absent_kinds_do_not_keep_a_cluster_from_ready() {
        let kinds = BTreeMap::from([
            ("Kustomization", served(WatchState::Watching)),
            ("Bucket", KindState::Absent),
        ]);
        assert_eq!(cluster_state(&kinds), Summary::new(ClusterState::Ready, ""));
    }

    #[test]
    fn some_failing_kinds_make_a_cluster_degraded_and_are_named() {
        let kinds = BTreeMap::from([
            ("Kustomization", served(WatchState::Watching)),
            (
                "HelmRelease",
                served(failing("403 forbidden", Cause::Forbidden)),
            ),
        ]);
        let summary = cluster_state(&kinds);
        assert_eq!(summary.state, ClusterState::Degraded);
        assert!(
            summary
                .message
                .contains("may not list and watch HelmRelease")
                && summary
                    .message
                    .contains("helmreleases.helm.toolkit.fluxcd.io")
                && summary.message.contains("403"),
            "{}",
            summary.message
        );
        assert_eq!(
            kinds["HelmRelease"].to_watch(false).state,
            KindStatus::Forbidden
        );
        assert!(summary.next_retry_at.is_some());
    }

    #[test]
    fn every_kind_failing_means_unreachable() {
        let kinds = BTreeMap::from([
            (
                "Kustomization",
                served(failing("connection refused", Cause::Unreachable)),
            ),
            (
                "HelmRelease",
                served(failing("connection refused", Cause::Unreachable)),
            ),
        ]);
        assert_eq!(cluster_state(&kinds).state, ClusterState::Unreachable);
    }

    #[test]
    fn refused_credentials_and_missing_permissions_are_told_apart_from_the_network() {
        let all = |cause| {
            BTreeMap::from([
                ("Kustomization", served(failing("x", cause))),
                ("GitRepository", served(failing("x", cause))),
            ])
        };
        let unauthorized = cluster_state(&all(Cause::Unauthorized));
        assert_eq!(unauthorized.state, ClusterState::Unauthorized);
        assert!(
            unauthorized
                .message
                .contains("update the cluster's kubeconfig")
        );
        let forbidden = cluster_state(&all(Cause::Forbidden));
        assert_eq!(forbidden.state, ClusterState::Forbidden);
        assert!(
            forbidden
                .message
                .contains("kustomizations.kustomize.toolkit.fluxcd.io")
                && forbidden
                    .message
                    .contains("gitrepositories.source.toolkit.fluxcd.io"),
            "{}",
            forbidden.message
        );
        let mixed = BTreeMap::from([
            ("Kustomization", served(failing("x", Cause::Forbidden))),
            (
                "GitRepository",
                served(failing("no route", Cause::Unreachable)),
            ),
        ]);
        assert_eq!(cluster_state(&mixed).state, ClusterState::Unreachable);
    }

    #[test]
    fn a_silent_api_server_shows_listing_and_watching_kinds_as_stalled() {
        let k = served(WatchState::Watching);
        assert_eq!(k.to_watch(true).state, KindStatus::Stalled);
        assert_eq!(k.to_watch(false).state, KindStatus::Watching);
        assert_eq!(KindState::Absent.to_watch(true).state, KindStatus::Absent);
    }
}
