//! The stream's wire messages as OpenAPI types (so generated clients get them), and the codec
//! that encodes store rows with them. `docs/streaming.md` documents the protocol.

use poem_openapi::types::ToJSON;
use poem_openapi::{Enum, Object, Union};

use crate::api::Cluster;
use crate::api::model::{Change, Health, ResourceSummary};
use crate::live::{self, Frame};

/// Every message a client may send.
#[derive(Union, Debug, Clone)]
#[oai(discriminator_name = "type", one_of)]
pub enum ClientMessage {
    /// Start or change the subscription.
    #[oai(mapping = "subscribe")]
    Subscribe(SubscribeMessage),
}

/// `{"type":"subscribe"}`: start a subscription, or replace the current one on this connection.
#[derive(Object, Debug, Clone, Default)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscribeMessage {
    /// Replay every matching change after this seq, then continue live. Without it: the first
    /// subscription starts at the live head; a later one continues where the previous one was.
    pub since: Option<i64>,
    /// Which changes to receive; absent or empty lists match everything.
    #[oai(default)]
    pub filter: StreamFilter,
}

/// A subscription filter. Each list is "any of"; lists combine with "and".
#[derive(Object, Debug, Clone, Default)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamFilter {
    /// Cluster ids or names.
    #[oai(default)]
    pub clusters: Vec<String>,
    /// Flux kinds (`Kustomization`), plurals (`kustomizations`) or short names (`ks`), and
    /// workload kinds (`Deployment`, `deployments`).
    #[oai(default)]
    pub kinds: Vec<String>,
    /// Namespaces.
    #[oai(default)]
    pub namespaces: Vec<String>,
    /// Health before *or* after the change (so a recovery out of `failed` still arrives).
    #[oai(default)]
    pub health: Vec<Health>,
    /// Object names starting with this text.
    #[oai(default)]
    pub name_prefix: String,
}

/// Every message the server sends.
// Built and encoded on the spot, never stored: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Union, Debug, Clone)]
#[oai(discriminator_name = "type", one_of)]
pub enum ServerMessage {
    /// A committed change.
    #[oai(mapping = "change")]
    Change(ChangeMessage),
    /// A cluster's status changed.
    #[oai(mapping = "cluster")]
    Cluster(ClusterMessage),
    /// Replay is complete; live changes follow.
    #[oai(mapping = "subscribed")]
    Subscribed(PositionMessage),
    /// Still here; everything up to `seq` has been sent.
    #[oai(mapping = "heartbeat")]
    Heartbeat(PositionMessage),
    /// Refetch over REST and subscribe again.
    #[oai(mapping = "resync")]
    Resync(ResyncMessage),
    /// A client message was refused; the connection and subscription stay as they were.
    #[oai(mapping = "error")]
    Error(StreamError),
}

/// `{"type":"change"}`: one entry of the change log (the fields of the history API's `Change`)
/// and the object as stored now.
#[derive(Object, Debug, Clone)]
pub struct ChangeMessage {
    /// The log entry; `seq` is strictly increasing on a connection: resume with `since` = it.
    #[oai(flatten)]
    pub change: Change,
    /// The object as stored when the server read the change (`resource.seq` ≥ `seq`: it may
    /// already include later changes); null when the object no longer exists.
    pub resource: Option<ResourceSummary>,
}

/// `{"type":"cluster"}`: a cluster's registry entry or status changed (the same `Cluster` the
/// clusters API returns). Sent for every matching cluster when a subscription starts.
#[derive(Object, Debug, Clone)]
pub struct ClusterMessage {
    /// The cluster.
    pub cluster: Cluster,
    /// The cluster was removed from the registry.
    pub removed: bool,
}

/// `{"type":"subscribed"}` and `{"type":"heartbeat"}`: a position in the log.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct PositionMessage {
    /// Every change up to this seq that matches the filter has been sent: resume from here.
    pub seq: i64,
}

/// Why a resync is needed.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ResyncReasonView {
    /// `since` is older than the retained log.
    TooOld,
    /// The client fell behind.
    Slow,
    /// `since` is ahead of the log.
    UnknownSeq,
}

/// `{"type":"resync"}`: the subscription ended; refetch over REST and subscribe again.
#[derive(Object, Debug, Clone)]
pub struct ResyncMessage {
    /// Why.
    pub reason: ResyncReasonView,
}

/// `{"type":"error"}`: a client message was refused.
#[derive(Object, Debug, Clone)]
pub struct StreamError {
    /// Stable code: `invalid_json`, `unknown_type`, `invalid_message`, `invalid_filter`,
    /// `binary_not_supported`, `database_unavailable`.
    pub code: String,
    /// What was wrong.
    pub message: String,
}

impl ServerMessage {
    /// The JSON text of this message.
    pub fn encode(&self) -> Frame {
        // Object types always produce a JSON value; `Null` is unreachable but harmless.
        let value = self.to_json().unwrap_or_default();
        Frame::from(value.to_string())
    }
}

impl From<live::ResyncReason> for ResyncReasonView {
    fn from(r: live::ResyncReason) -> ResyncReasonView {
        match r {
            live::ResyncReason::TooOld => ResyncReasonView::TooOld,
            live::ResyncReason::Slow => ResyncReasonView::Slow,
            live::ResyncReason::UnknownSeq => ResyncReasonView::UnknownSeq,
        }
    }
}
