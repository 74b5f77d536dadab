//! The domain's words, defined once: every layer (the store's text columns and JSON, the API's
//! enums, the live filter, the web UI's types) uses these enums, not strings.
//!
//! Each word's spelling is what the database stores and the API sends; changing one is a
//! migration and an API change, so the spellings are tested below. `FromStr` ignores ASCII
//! case and names the refused word ([`Error::UnknownWord`]); serde uses the same spellings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Error;

/// Defines a vocabulary enum: its words (serde, [`fmt::Display`], `as_str`), `ALL` in
/// declaration order, and `FromStr`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $word)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word stored in the database and sent to clients.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s))
                    .ok_or_else(|| Error::UnknownWord {
                        vocabulary: $what,
                        word: s.to_owned(),
                    })
            }
        }
    };
}

vocabulary! {
    /// Health of one Flux object, as the UI and the database show it (see [`super::summarize`]).
    Health ("health") {
        /// Reconciled the latest spec successfully.
        Ready = "ready",
        /// A reconciliation is running or the latest spec is not yet observed.
        Progressing = "progressing",
        /// The last reconciliation failed; the controller will retry.
        Failed = "failed",
        /// The controller gave up until the spec changes.
        Stalled = "stalled",
        /// `spec.suspend` is true.
        Suspended = "suspended",
        /// Nothing to judge by.
        Unknown = "unknown",
    }
}

impl Health {
    /// From worst to best: the order of the `health` and `severity` sorts, of the UI's health
    /// filters and counts (`web/src/api/types.ts` `HEALTHS`, checked by a test in `api`).
    /// Unknown ranks above suspended: an object nobody can judge needs a look, a suspended
    /// one was paused on purpose.
    pub const SEVERITY: [Health; 6] = [
        Health::Failed,
        Health::Stalled,
        Health::Progressing,
        Health::Unknown,
        Health::Suspended,
        Health::Ready,
    ];

    /// Position in [`Health::SEVERITY`]: 0 is the worst.
    pub fn severity(self) -> usize {
        // Every health is in SEVERITY (a test checks), so the fallback is never taken.
        Health::SEVERITY
            .iter()
            .position(|h| *h == self)
            .unwrap_or(Health::SEVERITY.len())
    }
}

vocabulary! {
    /// Connection state of a cluster, as its supervisor judges it from the watches and probes
    /// (`cluster_status.state`). Each cause of trouble has its own state because each has a
    /// different fix.
    ClusterState ("cluster state") {
        /// Connecting, discovering or listing for the first time.
        Connecting = "connecting",
        /// Every served kind is watched.
        Ready = "ready",
        /// Some kinds cannot be watched.
        Degraded = "degraded",
        /// The API server cannot be reached (network, TLS, DNS) or does not answer (hung).
        Unreachable = "unreachable",
        /// The API server refuses the credentials (401).
        Unauthorized = "unauthorized",
        /// The credentials may not list and watch any Flux kind (403).
        Forbidden = "forbidden",
    }
}

impl Default for ClusterState {
    /// A cluster is connecting until its watches have listed once.
    fn default() -> ClusterState {
        ClusterState::Connecting
    }
}

vocabulary! {
    /// What a change-log entry records (`resource_changes.op`).
    ChangeOp ("change op") {
        /// The object was created or changed.
        Upsert = "upsert",
        /// The object was deleted (or found gone by a relist).
        Delete = "delete",
        /// A controller event about the object was recorded.
        Event = "event",
    }
}

vocabulary! {
    /// Watch state of one kind on one cluster (`cluster_status.kinds`, per kind).
    KindStatus ("kind status") {
        /// Listing (first list, or a relist).
        Listing = "listing",
        /// Listed; watching for changes.
        Watching = "watching",
        /// The cluster does not serve the kind.
        Absent = "absent",
        /// The API server stopped answering while the watch was listing or watching.
        Stalled = "stalled",
        /// Listing or watching fails (network, TLS, a server error); retried.
        Error = "error",
        /// The API server refuses the credentials (401); retried.
        Unauthorized = "unauthorized",
        /// The credentials may not list and watch the kind (403); retried.
        Forbidden = "forbidden",
    }
}

vocabulary! {
    /// Type of a Kubernetes event (`flux_events.type`); the API server accepts only these two.
    EventType ("event type") {
        /// Something expected happened, e.g. `ReconciliationSucceeded`.
        Normal = "Normal",
        /// Something went wrong, e.g. `HealthCheckFailed`.
        Warning = "Warning",
    }
}

vocabulary! {
    /// Type of an edge between two objects of one cluster (`resource_edges.type`); an edge
    /// points from upstream to downstream: from what an object needs to the object, or from a
    /// parent to what it applied (see `flux::edges`).
    EdgeType ("edge type") {
        /// Source → consumer (`spec.sourceRef`, a HelmRelease's chart template source or
        /// `spec.chartRef`, an ImageUpdateAutomation's Git repository).
        Source = "source",
        /// HelmChart → the HelmRelease it was made for (`status.helmChart` of the release).
        Chart = "chart",
        /// Dependency → dependant (`spec.dependsOn`).
        DependsOn = "dependsOn",
        /// Kustomization → an object it applied (`status.inventory`).
        Inventory = "inventory",
        /// ImageRepository → ImagePolicy (`spec.imageRepositoryRef`).
        ImageRepository = "imageRepository",
        /// Provider → Alert (`spec.providerRef`).
        Provider = "provider",
        /// An object whose events an Alert forwards → the Alert (`spec.eventSources`).
        EventSource = "eventSource",
        /// Receiver → an object its webhook reconciles (`spec.resources`).
        Receiver = "receiver",
    }
}

impl EdgeType {
    /// The object that declares an edge of this type is its upstream end (`from`): a parent
    /// lists its inventory, a Receiver its resources; every other edge is declared by its
    /// downstream end, the object that references what it needs.
    pub fn declared_upstream(self) -> bool {
        matches!(self, EdgeType::Inventory | EdgeType::Receiver)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Every word of `V` parses back (in any case), serialises to itself, and is distinct.
    fn round_trips<V>(all: &[V])
    where
        V: Copy + fmt::Debug + PartialEq + FromStr<Err = Error> + Serialize + fmt::Display,
    {
        for v in all {
            let word = v.to_string();
            assert_eq!(word.parse::<V>(), Ok(*v));
            assert_eq!(word.to_ascii_uppercase().parse::<V>(), Ok(*v));
            assert_eq!(serde_json::to_value(v).expect("json"), json!(word));
        }
        let mut words: Vec<String> = all.iter().map(ToString::to_string).collect();
        words.sort();
        words.dedup();
        assert_eq!(words.len(), all.len(), "duplicate words");
    }

    #[test]
    fn every_word_round_trips_through_its_name_and_serde() {
        round_trips(Health::ALL);
        round_trips(ClusterState::ALL);
        round_trips(ChangeOp::ALL);
        round_trips(KindStatus::ALL);
        round_trips(EventType::ALL);
        round_trips(EdgeType::ALL);
    }

    fn words<V: fmt::Display>(all: &[V]) -> String {
        all.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_stored_spellings_do_not_change() {
        assert_eq!(
            words(Health::ALL),
            "ready progressing failed stalled suspended unknown"
        );
        assert_eq!(
            words(ClusterState::ALL),
            "connecting ready degraded unreachable unauthorized forbidden"
        );
        assert_eq!(
            words(KindStatus::ALL),
            "listing watching absent stalled error unauthorized forbidden"
        );
        assert_eq!(words(ChangeOp::ALL), "upsert delete event");
        assert_eq!(words(EventType::ALL), "Normal Warning");
        assert_eq!(
            words(EdgeType::ALL),
            "source chart dependsOn inventory imageRepository provider eventSource receiver"
        );
    }

    #[test]
    fn refused_words_are_named_with_their_vocabulary() {
        assert_eq!(
            "broken".parse::<Health>(),
            Err(Error::UnknownWord {
                vocabulary: "health",
                word: "broken".into()
            })
        );
        let refused = "sleeping".parse::<KindStatus>().unwrap_err();
        assert_eq!(refused.to_string(), "unknown kind status \"sleeping\"");
    }

    #[test]
    fn severity_ranks_every_health_once_worst_first() {
        for h in Health::ALL {
            assert!(Health::SEVERITY.contains(h), "{h} has a severity");
        }
        for (rank, h) in Health::SEVERITY.iter().enumerate() {
            assert_eq!(h.severity(), rank, "{h}");
        }
        assert!(Health::Failed.severity() < Health::Unknown.severity());
        assert!(Health::Unknown.severity() < Health::Suspended.severity());
    }
}
