//! `GET /api/v1/stream`: the live stream of committed changes over a WebSocket.
//! The protocol is in `docs/streaming.md`; the message types are in the OpenAPI components.

mod codec;
pub mod messages;
mod session;

use std::sync::Arc;

use poem::http::header::{self, HeaderValue};
use poem::http::{Method, StatusCode};
use poem::web::Data;
use poem::{IntoResponse, Request, Response};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::auth::Credential;
use super::error::{ApiError, ErrorBody};
use super::{ApiTags, AppState};
use crate::auth::Principal;
use crate::live::Visibility;
pub use codec::{StreamCodec, change_message, parse_client};
use messages::{ClientMessage, ServerMessage};

/// Largest client message accepted; a subscribe message is far smaller.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Not a response body: the messages exchanged over the WebSocket, for generated clients.
#[derive(Object, Debug, Clone)]
pub struct StreamProtocol {
    /// What a client may send.
    pub client: ClientMessage,
    /// What the server sends.
    pub server: ServerMessage,
}

/// The upgrade to a WebSocket (`101 Switching Protocols`).
pub struct StreamUpgrade {
    accept: HeaderValue,
}

impl IntoResponse for StreamUpgrade {
    fn into_response(self) -> Response {
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, self.accept)
            .finish()
    }
}

impl ApiResponse for StreamUpgrade {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "Switching to the WebSocket protocol. Each text frame carries one JSON \
                              message: the client sends `ClientMessage`s, the server `ServerMessage`s \
                              (the schema below lists both; it is not an HTTP body).",
                status: Some(101),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/json",
                    schema: StreamProtocol::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        StreamProtocol::register(registry);
    }
}

/// The stream endpoint.
pub struct StreamApi;

#[OpenApi(tag = "ApiTags::Stream")]
impl StreamApi {
    /// Live stream of changes (WebSocket)
    ///
    /// Upgrades to a WebSocket. Send `{"type":"subscribe","since":SEQ,"filter":{...}}`; receive
    /// every committed change that matches, in seq order (a replay from the database after
    /// `since`, then live), cluster status messages, and heartbeats. `since` older than the
    /// retained log, or a client that falls behind, gets `resync`. See `docs/streaming.md`.
    #[oai(path = "/api/v1/stream", method = "get", operation_id = "stream")]
    async fn stream(
        &self,
        req: &Request,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
    ) -> Result<StreamUpgrade, ApiError> {
        // Authentication and the role check happen in the API middleware (rule `stream`).
        let key = handshake_key(req)?;
        let max = state.live.settings().max_streams_per_principal;
        let slot = state
            .streams
            .acquire(principal_key(&principal), max)
            .ok_or_else(|| {
                ApiError::TooManyRequests(Json(ErrorBody {
                    code: "too_many_streams".into(),
                    message: format!(
                        "{} already has {max} streams open; close one (each browser tab holds one)",
                        principal.subject
                    ),
                    oldest: None,
                }))
            })?;
        let caller = session::Caller {
            auth: state.auth.clone(),
            credential: Credential::of(&state.auth, req),
            visibility: principal
                .scope
                .clone()
                .map_or(Visibility::All, Visibility::Scoped),
            expires_at: principal.expires_at,
            _slot: slot,
        };
        let on_upgrade = req.take_upgrade().map_err(|_| {
            ApiError::bad_request("websocket_required", "the connection cannot be upgraded")
        })?;
        let hub = state.live.clone();
        hub.clone().spawn_session(async move {
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            let ws =
                WebSocketStream::from_raw_socket(upgraded, Role::Server, Some(ws_config())).await;
            session::run(ws, hub, caller).await;
        });
        Ok(StreamUpgrade {
            accept: HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
                .map_err(|_| bad_key())?,
        })
    }
}

/// Who a stream belongs to, for the per-principal cap: the token behind it, else the
/// authenticated subject.
fn principal_key(p: &Principal) -> String {
    match p.token_id {
        Some(id) => format!("token:{id}"),
        None => format!("{}:{}", p.method.as_str(), p.subject),
    }
}

/// Open streams per principal (written by the stream endpoint when it admits one and by the
/// session's [`StreamSlot`] when it ends; read by the endpoint).
#[derive(Default)]
pub struct StreamCounts(std::sync::Mutex<std::collections::HashMap<String, usize>>);

impl StreamCounts {
    /// Count one more stream of `key`, unless it has `max` already (0: no limit).
    fn acquire(self: &Arc<Self>, key: String, max: usize) -> Option<StreamSlot> {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let open = counts.entry(key.clone()).or_insert(0);
        if max > 0 && *open >= max {
            return None;
        }
        *open += 1;
        Some(StreamSlot {
            counts: self.clone(),
            key,
        })
    }
}

/// One admitted stream; dropping it gives the place back.
pub struct StreamSlot {
    counts: Arc<StreamCounts>,
    key: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = counts.get_mut(&self.key) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

fn bad_key() -> ApiError {
    ApiError::bad_request("websocket_required", "invalid Sec-WebSocket-Key")
}

/// The `Sec-WebSocket-Key` of a valid upgrade request, or 400.
fn handshake_key(req: &Request) -> Result<HeaderValue, ApiError> {
    let headers = req.headers();
    let has = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    let valid = req.method() == Method::GET
        && has(header::CONNECTION, "upgrade")
        && has(header::UPGRADE, "websocket")
        && headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    match headers.get(header::SEC_WEBSOCKET_KEY) {
        Some(key) if valid => Ok(key.clone()),
        _ => Err(ApiError::bad_request(
            "websocket_required",
            "this endpoint speaks WebSocket (version 13): connect with a WebSocket client",
        )),
    }
}

/// Small buffers: an idle subscriber should cost a few KiB. Frames are written as they come
/// (no write batching) so a change reaches the client at once.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(2 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * 1024 * 1024)
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE))
}
