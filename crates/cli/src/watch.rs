//! `get -w`: subscribe to the live stream (docs/streaming.md), then list, then print a row for
//! every change. Subscribing first and listing after the `subscribed` position means no
//! change falls between the list and the stream (one may be printed twice, never missed).

use std::collections::HashMap;
use std::sync::Arc;

use fluxo_client::types::{
    ClientMessageSubscribeMessage, ClientMessageSubscribeMessageType, ResourceSummary,
    ServerMessage, ServerMessageChangeMessage, StreamFilter,
};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
use uuid::Uuid;

use super::api::Api;
use super::args::Output;
use super::error::{Error, Result};
use super::output::{print, progress, resource_row, resource_table_with};
use super::resolve::{self, Query};
use super::table::format_line;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The stream's URL for a server URL: `http` → `ws`, `https` → `wss`.
pub fn stream_url(server: &str) -> String {
    let ws = server
        .strip_prefix("https://")
        .map(|rest| format!("wss://{rest}"))
        .or_else(|| {
            server
                .strip_prefix("http://")
                .map(|rest| format!("ws://{rest}"))
        })
        .unwrap_or_else(|| server.to_string());
    format!("{}/api/v1/stream", ws.trim_end_matches('/'))
}

/// The subscription filter for a list query (the stream has no label or exact-name filter:
/// names are matched here).
pub fn filter(query: &Query) -> StreamFilter {
    StreamFilter {
        clusters: query.clusters.clone(),
        kinds: Some(query.kinds.clone()),
        namespaces: Some(query.namespaces.clone()),
        health: Some(query.health.clone()),
        name_prefix: query.name.clone(),
    }
}

/// Run `get -w`.
pub async fn run(api: &Api, query: &Query, output: Output) -> Result<()> {
    if query.clusters.as_ref().is_some_and(Vec::is_empty) {
        return Err(Error::Usage(
            "no cluster matches the cluster selector".into(),
        ));
    }
    let mut socket = connect(api).await?;
    subscribe(&mut socket, query).await?;
    wait_subscribed(&mut socket).await?;
    let items = resolve::list(api, query).await?;
    let wide = output == Output::Wide;
    let kind = wide || query.kinds.len() != 1;
    let table = resource_table_with(&items, kind, wide);
    print(&table.render())?;
    // Keep columns steady while rows arrive: at least as wide as the first page's.
    let widths: Vec<usize> = table.widths().into_iter().map(|w| w.max(12)).collect();
    let mut last: HashMap<Uuid, ResourceSummary> = items.into_iter().map(|r| (r.id, r)).collect();
    follow(&mut socket, query, &mut last, &widths, kind, wide).await
}

async fn connect(api: &Api) -> Result<Socket> {
    let url = stream_url(&api.target.server);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| Error::Usage(format!("stream URL {url}: {e}")))?;
    if let Some(token) = &api.target.token {
        let value = format!("Bearer {token}").parse().map_err(|_| {
            Error::Usage("the token contains characters a header cannot carry".into())
        })?;
        request.headers_mut().insert("authorization", value);
    }
    let connector = tokio_tungstenite::Connector::Rustls(Arc::new(tls_config()));
    match tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector))
        .await
    {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Io(e)) => Err(Error::Unreachable {
            server: api.target.server.clone(),
            reason: e.to_string(),
        }),
        Err(tungstenite::Error::Http(response)) => Err(http_refusal(response)),
        Err(e) => Err(Error::Stream(e.to_string())),
    }
}

/// rustls on ring with the system's roots.
fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        // ring supports the default protocol versions; this cannot fail.
        .unwrap_or_else(|_| unreachable_config())
}

fn unreachable_config() -> rustls::ClientConfig {
    rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

/// The API's `{code, message}` from a refused upgrade.
fn http_refusal(response: tungstenite::http::Response<Option<Vec<u8>>>) -> Error {
    let status = response.status().as_u16();
    let body = response.into_body().unwrap_or_default();
    match serde_json::from_slice::<fluxo_client::types::ErrorBody>(&body) {
        Ok(e) => Error::Api {
            status,
            code: e.code,
            message: e.message,
        },
        Err(_) => Error::Stream(format!("the server refused the stream with HTTP {status}")),
    }
}

async fn subscribe(socket: &mut Socket, query: &Query) -> Result<()> {
    let message = ClientMessageSubscribeMessage {
        filter: Some(filter(query)),
        since: None,
        type_: ClientMessageSubscribeMessageType::Subscribe,
    };
    let text = serde_json::to_string(&message).map_err(|e| Error::Stream(e.to_string()))?;
    socket
        .send(Message::text(text))
        .await
        .map_err(|e| Error::Stream(e.to_string()))
}

/// A message of the stream as the CLI reads it.
enum Incoming {
    Change(Box<ServerMessageChangeMessage>),
    Position,
    Resync(String),
    Failed(String),
    Other,
}

/// The stream's message types this client was generated with.
const KNOWN_TYPES: [&str; 6] = [
    "change",
    "cluster",
    "subscribed",
    "heartbeat",
    "resync",
    "error",
];

/// Decode one message with the generated `ServerMessage` union. A type this client does not
/// know (a newer server) is skipped; a known one that does not decode is an error.
fn decode(text: &str) -> Result<Incoming> {
    let message = match serde_json::from_str::<ServerMessage>(text) {
        Ok(message) => message,
        Err(e) => {
            let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            let kind = value["type"].as_str().unwrap_or_default();
            if KNOWN_TYPES.contains(&kind) {
                return Err(Error::Stream(format!("unexpected {kind} message: {e}")));
            }
            return Ok(Incoming::Other);
        }
    };
    Ok(match message {
        ServerMessage::ChangeMessage(change) => Incoming::Change(Box::new(change)),
        ServerMessage::Subscribed(_) | ServerMessage::Heartbeat(_) => Incoming::Position,
        ServerMessage::ResyncMessage(resync) => Incoming::Resync(resync.reason.to_string()),
        ServerMessage::StreamError(e) => Incoming::Failed(format!("{}: {}", e.code, e.message)),
        ServerMessage::ClusterMessage(_) => Incoming::Other,
    })
}

/// Read one message (`None`: the server closed the stream).
async fn next_message(socket: &mut Socket) -> Result<Option<Incoming>> {
    while let Some(frame) = socket.next().await {
        match frame.map_err(|e| Error::Stream(e.to_string()))? {
            Message::Text(text) => return decode(&text).map(Some),
            Message::Close(_) => return Ok(None),
            _ => continue,
        }
    }
    Ok(None)
}

async fn wait_subscribed(socket: &mut Socket) -> Result<()> {
    loop {
        match next_message(socket).await? {
            Some(Incoming::Position) => return Ok(()),
            Some(Incoming::Failed(e)) => return Err(Error::Stream(e)),
            Some(_) => {}
            None => return Err(Error::Stream("the server closed the stream".into())),
        }
    }
}

async fn follow(
    socket: &mut Socket,
    query: &Query,
    last: &mut HashMap<Uuid, ResourceSummary>,
    widths: &[usize],
    kind: bool,
    wide: bool,
) -> Result<()> {
    loop {
        match next_message(socket).await? {
            Some(Incoming::Change(change)) => {
                if let Some(row) = changed_row(*change, query, last) {
                    print(&format_line(&resource_row(&row, kind, wide), widths))?;
                }
            }
            Some(Incoming::Resync(reason)) => {
                progress(&format!(
                    "the stream asked for a resync ({reason}); subscribing again"
                ));
                subscribe(socket, query).await?;
            }
            Some(Incoming::Failed(e)) => return Err(Error::Stream(e)),
            Some(Incoming::Position | Incoming::Other) => {}
            None => return Err(Error::Stream("the server closed the stream".into())),
        }
    }
}

/// The row to print for a change: the object as stored now, when it matches the exact name
/// and differs from what was last printed (a replayed or duplicate change prints nothing).
pub fn changed_row(
    change: ServerMessageChangeMessage,
    query: &Query,
    last: &mut HashMap<Uuid, ResourceSummary>,
) -> Option<ResourceSummary> {
    let row = change.resource?;
    if query.name.as_ref().is_some_and(|n| *n != row.name) {
        return None;
    }
    if last.get(&row.id).is_some_and(|old| old.seq >= row.seq) {
        return None;
    }
    last.insert(row.id, row.clone());
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_url_follows_the_server_scheme() {
        assert_eq!(
            stream_url("http://127.0.0.1:8080"),
            "ws://127.0.0.1:8080/api/v1/stream"
        );
        assert_eq!(
            stream_url("https://fluxo.example/"),
            "wss://fluxo.example/api/v1/stream"
        );
    }
}
