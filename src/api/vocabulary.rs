//! The API's enums of the domain's words: thin mirrors of `flux::vocabulary` with the same
//! words (so the wire format is what the database stores), converted both ways with `From`
//! (poem-openapi's `remote`). Their doc comments are the OpenAPI descriptions.

use poem_openapi::Enum;

use crate::flux;

/// Health of a Flux object, derived from its conditions (see `flux::summarize`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[oai(rename_all = "lowercase", remote = "flux::Health")]
pub enum Health {
    /// Ready=True at the current generation.
    Ready,
    /// Reconciling, or the controller has not observed the newest generation yet.
    Progressing,
    /// Ready=False.
    Failed,
    /// Stalled=True: the controller gave up until the object changes.
    Stalled,
    /// `spec.suspend: true`.
    Suspended,
    /// No status to judge by.
    Unknown,
}

/// What an edge of a graph means; it points from upstream to downstream.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "camelCase", remote = "flux::EdgeType")]
pub enum EdgeType {
    /// Source → consumer (`spec.sourceRef`, a HelmRelease's chart source, an
    /// ImageUpdateAutomation's Git repository).
    Source,
    /// HelmChart → the HelmRelease it was made for (`status.helmChart`).
    Chart,
    /// Dependency → dependant (`spec.dependsOn`).
    DependsOn,
    /// Kustomization → an object it applied (`status.inventory`).
    Inventory,
    /// ImageRepository → ImagePolicy.
    ImageRepository,
    /// Provider → Alert.
    Provider,
    /// An object whose events an Alert forwards → the Alert.
    EventSource,
    /// Receiver → an object its webhook reconciles.
    Receiver,
}

/// What a change-log entry records (shared by the history API and the stream).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase", remote = "flux::ChangeOp")]
pub enum ChangeOp {
    /// The object was created or changed.
    Upsert,
    /// The object was deleted (or found gone by a relist).
    Delete,
    /// A controller event about the object was recorded.
    Event,
}

/// Kubernetes event type.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(remote = "flux::EventType")]
pub enum EventType {
    /// Something expected happened, e.g. `ReconciliationSucceeded`.
    Normal,
    /// Something went wrong, e.g. `HealthCheckFailed`.
    Warning,
}

/// Connection state of a cluster.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase", remote = "flux::ClusterState")]
pub enum ClusterState {
    /// Connecting, discovering or listing for the first time.
    Connecting,
    /// Every served kind is watched.
    Ready,
    /// Some kinds cannot be watched (see `kinds`; the message names what they need).
    Degraded,
    /// The API server cannot be reached (network, TLS, DNS) or does not answer (hung).
    Unreachable,
    /// The API server refuses the credentials (401): update the cluster's kubeconfig.
    Unauthorized,
    /// The credentials may not list and watch any Flux kind (403): grant the permission the
    /// message names.
    Forbidden,
}

/// Watch state of one kind on one cluster: `listing`, `watching`, `absent` (not served),
/// `stalled` (the API server stopped answering), or failing — `error`, `unauthorized` (401),
/// `forbidden` (403) — and retried.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase", remote = "flux::KindStatus")]
pub enum KindWatchState {
    /// Listing (first list, or a relist).
    Listing,
    /// Listed; watching for changes.
    Watching,
    /// The cluster does not serve the kind.
    Absent,
    /// The API server stopped answering while the watch was listing or watching.
    Stalled,
    /// Listing or watching fails (network, TLS, a server error).
    Error,
    /// The API server refuses the credentials (401).
    Unauthorized,
    /// The credentials may not list and watch the kind (403).
    Forbidden,
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;
    use serde_json::json;

    use super::*;

    /// Every word of the vocabulary goes on the wire as stored, and comes back.
    fn mirrors<F, A>(all: &[F])
    where
        F: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + From<A>,
        A: ToJSON + From<F>,
    {
        for word in all {
            let api = A::from(*word);
            assert_eq!(api.to_json(), Some(json!(word.to_string())), "{word}");
            assert_eq!(F::from(api), *word);
        }
    }

    #[test]
    fn the_api_enums_carry_the_stored_words() {
        mirrors::<flux::Health, Health>(flux::Health::ALL);
        mirrors::<flux::ChangeOp, ChangeOp>(flux::ChangeOp::ALL);
        mirrors::<flux::EventType, EventType>(flux::EventType::ALL);
        mirrors::<flux::ClusterState, ClusterState>(flux::ClusterState::ALL);
        mirrors::<flux::KindStatus, KindWatchState>(flux::KindStatus::ALL);
        mirrors::<flux::EdgeType, EdgeType>(flux::EdgeType::ALL);
    }

    /// The web UI's one copy of the severity order (`HEALTHS`), which TypeScript cannot read
    /// from the spec, is `flux::Health::SEVERITY`.
    #[test]
    fn the_web_ui_orders_health_by_severity() {
        // Read, not `include_str!`: the UI's sources are not part of the server's build.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/web/src/api/types.ts");
        let types = std::fs::read_to_string(path).expect("web/src/api/types.ts");
        let line = types
            .lines()
            .find(|l| l.starts_with("export const HEALTHS"))
            .expect("HEALTHS in web/src/api/types.ts");
        let list = &line[line.find("= [").expect("= [") + 3..line.rfind(']').expect("]")];
        let words: Vec<&str> = list
            .split(',')
            .map(|w| w.trim().trim_matches('\''))
            .collect();
        let severity: Vec<&str> = flux::Health::SEVERITY.iter().map(|h| h.as_str()).collect();
        assert_eq!(words, severity);
    }
}
