//! Store rows to wire messages, and client text to a parsed message or an `error` reply.

use poem_openapi::types::ParseFromJSON;

use super::messages::{
    ChangeMessage, ClusterMessage, ServerMessage, StreamError, SubscribeMessage,
};
use crate::api::Cluster;
use crate::api::model::{Change, ResourceSummary};
use crate::live::{self, ClusterView, Frame};
use crate::store::ChangeRow;

/// The [`live::Codec`] of the stream.
pub struct StreamCodec;

impl live::Codec for StreamCodec {
    fn change(&self, row: &ChangeRow) -> Frame {
        ServerMessage::Change(change_message(row)).encode()
    }

    fn cluster(&self, view: &ClusterView, removed: bool) -> Frame {
        let cluster = Cluster::new(view.cluster.clone(), view.status.clone());
        ServerMessage::Cluster(ClusterMessage { cluster, removed }).encode()
    }
}

/// The `change` message of a log entry: the history API's `Change` plus the stored object.
pub fn change_message(row: &ChangeRow) -> ChangeMessage {
    ChangeMessage {
        change: Change::from(row.entry.clone()),
        resource: row.resource.clone().map(ResourceSummary::from),
    }
}

fn refuse(code: &str, message: impl Into<String>) -> StreamError {
    StreamError {
        code: code.to_string(),
        message: message.into(),
    }
}

/// Parse a client text frame. The only message type is `subscribe`.
pub fn parse_client(text: &str) -> Result<SubscribeMessage, StreamError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| refuse("invalid_json", format!("not JSON: {e}")))?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(refuse(
            "invalid_message",
            "a message is a JSON object with a \"type\"",
        ));
    };
    match object.remove("type") {
        Some(serde_json::Value::String(t)) if t == "subscribe" => {}
        Some(serde_json::Value::String(t)) => {
            return Err(refuse(
                "unknown_type",
                format!("unknown message type {t:?}; the only one is \"subscribe\""),
            ));
        }
        _ => {
            return Err(refuse(
                "unknown_type",
                "a message needs a string \"type\", e.g. \"subscribe\"",
            ));
        }
    }
    SubscribeMessage::parse_from_json(Some(serde_json::Value::Object(object)))
        .map_err(|e| refuse("invalid_message", e.into_message()))
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
