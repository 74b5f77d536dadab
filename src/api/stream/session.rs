//! One WebSocket connection: client messages in, subscription frames out, heartbeats and pings,
//! the idle timeout, and the stalled-writer cut-off.

use std::ops::ControlFlow;
use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use poem::Upgraded;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::codec::parse_client;
use super::messages::{PositionMessage, ResyncMessage, ServerMessage, StreamError};
use crate::api::auth::Credential;
use crate::auth::Auth;
use crate::flux::Health;
use crate::live::{
    Filter, Hub, Outgoing, ResyncReason, StartError, SubscriberGuard, Subscription, Visibility,
};
use crate::store;

/// Most frames written before one flush (bounds the memory a burst holds per connection).
const MAX_FRAMES_PER_WRITE: usize = 256;

/// Bound on the farewell frames sent while closing.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

enum Step {
    Shutdown,
    Client(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Tick,
    Out(Result<Outgoing, store::Error>),
}

/// Who is on the other end, re-checked while the stream is open.
pub(super) struct Caller {
    /// The service that re-validates the credential.
    pub auth: std::sync::Arc<Auth>,
    /// The credential the upgrade request carried.
    pub credential: Credential,
    /// The clusters it may see.
    pub visibility: Visibility,
    /// When its credential stops working, if known.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Keeps the caller's open-stream count until the session ends.
    pub _slot: super::StreamSlot,
}

impl Caller {
    /// The credential still works: not revoked, not expired, its session not ended. A
    /// database that cannot answer is not a refusal (the subscription reports it).
    async fn still_allowed(&self) -> bool {
        if self.expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
            return false;
        }
        match self.credential.check(&self.auth).await {
            Ok(()) => true,
            Err(crate::auth::Error::Store(e)) => {
                tracing::debug!(error = %e, "cannot re-check a stream credential now");
                true
            }
            Err(_) => false,
        }
    }
}

struct Session {
    ws: WebSocketStream<Upgraded>,
    hub: Hub,
    caller: Caller,
    sub: Option<Subscription>,
    last_heard: Instant,
    /// Subscribe messages in the current minute (start of the window, count).
    subscribes: (Instant, u32),
}

/// Serve one connection until the client leaves, stalls, idles out, its credential stops
/// working, or the server shuts down.
pub(super) async fn run(ws: WebSocketStream<Upgraded>, hub: Hub, caller: Caller) {
    let _counted = SubscriberGuard::new(hub.metrics());
    let cancel = hub.shutdown().clone();
    let heartbeat = hub.settings().heartbeat;
    let mut ticker = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut s = Session {
        ws,
        hub,
        caller,
        sub: None,
        last_heard: Instant::now(),
        subscribes: (Instant::now(), 0),
    };
    loop {
        let step = tokio::select! {
            biased;
            _ = cancel.cancelled() => Step::Shutdown,
            m = s.ws.next() => Step::Client(m),
            _ = ticker.tick() => Step::Tick,
            o = next_out(&mut s.sub) => Step::Out(o),
        };
        if s.handle(step).await.is_break() {
            break;
        }
    }
}

async fn next_out(sub: &mut Option<Subscription>) -> Result<Outgoing, store::Error> {
    match sub {
        Some(sub) => sub.next().await,
        None => std::future::pending().await,
    }
}

impl Session {
    async fn handle(&mut self, step: Step) -> ControlFlow<()> {
        match step {
            Step::Shutdown => self.close(CloseCode::Away, "server shutting down").await,
            Step::Client(Some(Ok(message))) => {
                self.last_heard = Instant::now();
                self.on_client(message).await
            }
            Step::Client(_) => ControlFlow::Break(()),
            Step::Tick => self.on_tick().await,
            Step::Out(Ok(out)) => self.on_outgoing(out).await,
            Step::Out(Err(e)) => self.unavailable(e).await,
        }
    }

    async fn on_client(&mut self, message: Message) -> ControlFlow<()> {
        match message {
            Message::Text(text) => match parse_client(text.as_str()) {
                Ok(_) if !self.subscribe_allowed() => {
                    self.refuse(
                        "rate_limited",
                        "too many subscribe messages; reconnect and subscribe less often",
                    )
                    .await?;
                    self.close(CloseCode::Policy, "subscribe rate limit").await
                }
                Ok(m) => {
                    let f = &m.filter;
                    let health: Vec<Health> = f.health.iter().map(|h| (*h).into()).collect();
                    match Filter::new(
                        &f.clusters,
                        &f.kinds,
                        &f.namespaces,
                        &health,
                        &f.name_prefix,
                    ) {
                        Ok(filter) => self.subscribe(m.since, filter).await,
                        Err(e) => self.refuse("invalid_filter", e.to_string()).await,
                    }
                }
                Err(e) => self.send_error(e).await,
            },
            Message::Binary(_) => {
                self.refuse("binary_not_supported", "send JSON text frames")
                    .await
            }
            Message::Close(_) => ControlFlow::Break(()),
            // Pongs only count as signs of life; tungstenite answers pings itself.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => ControlFlow::Continue(()),
        }
    }

    /// Replace the subscription. Without `since`, a later subscription continues exactly where
    /// the previous one was.
    async fn subscribe(&mut self, since: Option<i64>, filter: Filter) -> ControlFlow<()> {
        let since = since.or(self.sub.as_ref().map(Subscription::resume_point));
        self.sub = None;
        let visibility = self.caller.visibility.clone();
        match Subscription::start(&self.hub, since, filter, visibility).await {
            Ok(sub) => {
                self.sub = Some(sub);
                ControlFlow::Continue(())
            }
            Err(StartError::Resync(reason)) => self.resync(reason).await,
            Err(StartError::Store(e)) => self.unavailable(e).await,
        }
    }

    /// Send `out`, and with it every frame the subscription has ready at once, in one write:
    /// a committed batch of changes reaches the subscriber as one TCP segment instead of one
    /// per change (the socket has no Nagle delay, so unbatched frames each cost a packet).
    async fn on_outgoing(&mut self, out: Outgoing) -> ControlFlow<()> {
        let mut frames = Vec::new();
        let mut next = Some(Ok(out));
        while let Some(item) = next.take() {
            match item {
                Ok(Outgoing::Change { frame, .. } | Outgoing::Cluster(frame)) => {
                    frames.push(Message::Text(frame));
                    if frames.len() < MAX_FRAMES_PER_WRITE {
                        next = self.ready_out();
                    }
                }
                Ok(other) => {
                    self.send_all(std::mem::take(&mut frames)).await?;
                    self.on_control(other).await?;
                }
                Err(e) => {
                    self.send_all(std::mem::take(&mut frames)).await?;
                    return self.unavailable(e).await;
                }
            }
        }
        self.send_all(frames).await
    }

    /// The subscription's next message if it is ready now, without waiting.
    fn ready_out(&mut self) -> Option<Result<Outgoing, store::Error>> {
        self.sub.as_mut()?.next().now_or_never()
    }

    async fn on_control(&mut self, out: Outgoing) -> ControlFlow<()> {
        match out {
            Outgoing::Change { frame, .. } | Outgoing::Cluster(frame) => {
                self.send(Message::Text(frame)).await
            }
            Outgoing::Subscribed { seq } => {
                self.send_message(ServerMessage::Subscribed(PositionMessage { seq }))
                    .await
            }
            Outgoing::Resync(reason) => {
                self.sub = None;
                self.resync(reason).await
            }
        }
    }

    /// Count a subscribe message against the per-connection limit.
    fn subscribe_allowed(&mut self) -> bool {
        let limit = self.hub.settings().subscribes_per_minute;
        let (start, count) = &mut self.subscribes;
        if start.elapsed() >= Duration::from_secs(60) {
            *start = Instant::now();
            *count = 0;
        }
        *count += 1;
        limit == 0 || *count <= limit
    }

    async fn on_tick(&mut self) -> ControlFlow<()> {
        if self.last_heard.elapsed() > self.hub.settings().idle_timeout {
            tracing::debug!("closing an idle stream client");
            return self.close(CloseCode::Away, "idle timeout").await;
        }
        if !self.caller.still_allowed().await {
            tracing::info!("closing a stream whose credential was revoked or expired");
            self.sub = None;
            self.refuse(
                "credential_revoked",
                "the credential of this stream was revoked, expired or logged out",
            )
            .await?;
            return self
                .close(CloseCode::Policy, "credential no longer valid")
                .await;
        }
        let seq = match &self.sub {
            Some(sub) => sub.resume_point(),
            None => self.hub.head().unwrap_or(0),
        };
        self.send_message(ServerMessage::Heartbeat(PositionMessage { seq }))
            .await?;
        self.send(Message::Ping(Default::default())).await
    }

    async fn resync(&mut self, reason: ResyncReason) -> ControlFlow<()> {
        self.hub.metrics().resync(reason);
        self.send_message(ServerMessage::Resync(ResyncMessage {
            reason: reason.into(),
        }))
        .await
    }

    async fn unavailable(&mut self, e: store::Error) -> ControlFlow<()> {
        tracing::warn!(error = %e, "stream subscription cannot read the database");
        self.sub = None;
        self.refuse(
            "database_unavailable",
            "the database is unavailable; reconnect shortly",
        )
        .await?;
        self.close(CloseCode::Again, "database unavailable").await
    }

    async fn refuse(&mut self, code: &str, message: impl Into<String>) -> ControlFlow<()> {
        self.send_error(StreamError {
            code: code.to_string(),
            message: message.into(),
        })
        .await
    }

    async fn send_error(&mut self, e: StreamError) -> ControlFlow<()> {
        self.hub.metrics().client_errors.inc();
        self.send_message(ServerMessage::Error(e)).await
    }

    async fn send_message(&mut self, m: ServerMessage) -> ControlFlow<()> {
        self.send(Message::Text(m.encode())).await
    }

    /// Write one frame.
    async fn send(&mut self, message: Message) -> ControlFlow<()> {
        self.send_all(vec![message]).await
    }

    /// Write frames and flush once. A client that does not take them within the send timeout
    /// has stopped reading: it is cut off (it cannot even be told), so it never holds anyone up.
    async fn send_all(&mut self, messages: Vec<Message>) -> ControlFlow<()> {
        if messages.is_empty() {
            return ControlFlow::Continue(());
        }
        let counted = messages.iter().filter(|m| m.is_text()).count() as u64;
        let ws = &mut self.ws;
        let write = async move {
            for message in messages {
                ws.feed(message).await?;
            }
            ws.flush().await
        };
        match tokio::time::timeout(self.hub.settings().send_timeout, write).await {
            Ok(Ok(())) => {
                self.hub.metrics().messages_sent.inc_by(counted);
                ControlFlow::Continue(())
            }
            Ok(Err(_)) => ControlFlow::Break(()),
            Err(_) => {
                tracing::info!("cutting off a stream client that stopped reading");
                self.hub.metrics().resync(ResyncReason::Slow);
                ControlFlow::Break(())
            }
        }
    }

    async fn close(&mut self, code: CloseCode, reason: &str) -> ControlFlow<()> {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.ws.close(Some(frame))).await;
        ControlFlow::Break(())
    }
}
