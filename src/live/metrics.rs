//! What live fan-out counts, registered in the server's [`Metrics`] registry.

use crate::metrics::{self, Counter, Family, Gauge, Histogram, Label, Metrics};

use super::ResyncReason;

/// Handles to the live counters. Written by the listener, the retention task and every
/// session; read by `/metrics`.
#[derive(Debug, Clone)]
pub struct LiveMetrics {
    /// Connected WebSocket clients (subscribed or not).
    pub subscribers: Gauge,
    /// Frames written to clients (changes, cluster messages, heartbeats, control messages).
    pub messages_sent: Counter,
    /// Changes sent from the database during replay (a subset of `messages_sent`).
    pub replayed: Counter,
    /// Changes published to the in-process broadcast.
    pub published: Counter,
    /// Highest seq published.
    pub head_seq: Gauge,
    /// Highest seq announced by NOTIFY minus the highest seq published: how far the broadcast
    /// trails the committed log.
    pub broadcast_lag: Gauge,
    /// Milliseconds from the start of the writing transaction to publication, newest change.
    pub publish_delay_ms: Gauge,
    /// Seconds from a change's `at` (the writing transaction's start) to its frame handed to
    /// the broadcast, every change: the latency a live client sees, minus the socket.
    pub change_to_frame: Histogram,
    /// 1 while the LISTEN connection is up.
    pub listener_connected: Gauge,
    /// Times the LISTEN connection was (re)established.
    pub listener_connects: Counter,
    /// Malformed client messages answered with an `error` message.
    pub client_errors: Counter,
    /// Change-log rows deleted by retention.
    pub pruned: Counter,
    resync_slow: Counter,
    resync_too_old: Counter,
    resync_unknown_seq: Counter,
}

impl LiveMetrics {
    /// Register the live series in `m`.
    pub fn register(m: &Metrics) -> LiveMetrics {
        let resyncs: Family<Label, Counter> = m.register(
            "fluxo_live_resyncs_total",
            "Resync messages sent, by reason.",
            Family::default(),
        );
        let resync = |reason| resyncs.get_or_create_owned(&[("reason", reason)]);
        LiveMetrics {
            subscribers: m.gauge(
                "fluxo_live_subscribers",
                "Connected WebSocket stream clients.",
            ),
            messages_sent: m.counter(
                "fluxo_live_messages_sent_total",
                "Frames written to stream clients.",
            ),
            replayed: m.counter(
                "fluxo_live_replayed_total",
                "Changes sent from the database during replay.",
            ),
            published: m.counter(
                "fluxo_live_published_total",
                "Changes published to the in-process broadcast.",
            ),
            head_seq: m.gauge("fluxo_live_head_seq", "Highest change seq published."),
            broadcast_lag: m.gauge(
                "fluxo_live_broadcast_lag",
                "Highest seq announced by NOTIFY minus highest seq published.",
            ),
            publish_delay_ms: m.gauge(
                "fluxo_live_publish_delay_milliseconds",
                "Start of the writing transaction to publication, newest change.",
            ),
            change_to_frame: m.register(
                "fluxo_live_change_to_frame_seconds",
                "Start of the writing transaction to the change's frame handed to the broadcast.",
                metrics::histogram(metrics::FAST_SECONDS),
            ),
            listener_connected: m.gauge(
                "fluxo_live_listener_connected",
                "1 while the LISTEN connection is up.",
            ),
            listener_connects: m.counter(
                "fluxo_live_listener_connects_total",
                "Times the LISTEN connection was established.",
            ),
            client_errors: m.counter(
                "fluxo_live_client_errors_total",
                "Malformed client messages.",
            ),
            pruned: m.counter(
                "fluxo_changes_pruned_total",
                "Change-log rows deleted by retention.",
            ),
            resync_slow: resync("slow"),
            resync_too_old: resync("too_old"),
            resync_unknown_seq: resync("unknown_seq"),
        }
    }

    /// Count a resync sent for `reason`.
    pub fn resync(&self, reason: ResyncReason) {
        let counter = match reason {
            ResyncReason::Slow => &self.resync_slow,
            ResyncReason::TooOld => &self.resync_too_old,
            ResyncReason::UnknownSeq => &self.resync_unknown_seq,
        };
        counter.inc();
    }
}

/// Counts a connected client for as long as it lives.
pub struct SubscriberGuard(Gauge);

impl SubscriberGuard {
    /// Count one more subscriber until dropped.
    pub fn new(metrics: &LiveMetrics) -> SubscriberGuard {
        metrics.subscribers.inc();
        SubscriberGuard(metrics.subscribers.clone())
    }
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
