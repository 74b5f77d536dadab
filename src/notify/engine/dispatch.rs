//! The sender: picks due deliveries from the outbox and sends each in its own task, at most
//! `per_sink` at a time per sink, so a sink that is down or slow (every exchange ends within
//! `send::DEADLINE`) never holds up another sink, the engine, ingest or the stream. Each
//! outcome is written back (sent, retrying with exponential backoff, failed). Stopping aborts
//! the attempts in flight: their rows stay due, and whoever leads next sends them again under
//! the same idempotency key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::notify::message::{self, Envelope, Item};
use crate::notify::{Notify, SinkKind, sink};
use crate::store::{Attempt, DeliveryRow};

/// How often the outbox is read when nothing wakes the sender.
const POLL: Duration = Duration::from_millis(500);
/// Attempts before a delivery is `failed`.
pub const MAX_ATTEMPTS: i32 = 10;
/// The first retry's delay; each further one doubles, up to [`MAX_BACKOFF`].
const BACKOFF: Duration = Duration::from_secs(1);
/// Longest delay between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Deliveries in flight here: id → sink. Written by the loop (insert) and the attempt tasks
/// (remove); read by the loop to skip them and sinks at capacity.
type Busy = Arc<Mutex<HashMap<i64, Uuid>>>;

/// Send until `stop`; `wake` is signalled when new deliveries were committed.
pub(super) async fn run(
    notify: Notify,
    per_sink: usize,
    wake: Arc<tokio::sync::Notify>,
    stop: CancellationToken,
) {
    let busy: Busy = Arc::default();
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            Some(_) = tasks.join_next() => {}
            _ = wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        let (ids, full) = in_flight(&busy, per_sink);
        let due = match notify.store.due_deliveries(&ids, &full, 100).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the notification outbox; retrying");
                continue;
            }
        };
        let mut count = counts(&busy);
        for d in due {
            let n = count.entry(d.sink_id).or_default();
            if *n >= per_sink {
                continue;
            }
            *n += 1;
            lock(&busy).insert(d.id, d.sink_id);
            tasks.spawn(attempt(notify.clone(), d, busy.clone()));
        }
    }
    tasks.shutdown().await;
}

fn lock(busy: &Busy) -> std::sync::MutexGuard<'_, HashMap<i64, Uuid>> {
    // A panic while holding this lock cannot leave the map inconsistent (single inserts and
    // removes), so a poisoned lock is used as is.
    busy.lock().unwrap_or_else(|p| p.into_inner())
}

fn counts(busy: &Busy) -> HashMap<Uuid, usize> {
    let mut count = HashMap::new();
    for sink in lock(busy).values() {
        *count.entry(*sink).or_default() += 1;
    }
    count
}

/// The ids in flight, and the sinks with `per_sink` in flight.
fn in_flight(busy: &Busy, per_sink: usize) -> (Vec<i64>, Vec<Uuid>) {
    let ids = lock(busy).keys().copied().collect();
    let full = counts(busy)
        .into_iter()
        .filter(|(_, n)| *n >= per_sink)
        .map(|(s, _)| s)
        .collect();
    (ids, full)
}

async fn attempt(notify: Notify, d: DeliveryRow, busy: Busy) {
    let outcome = send(&notify, &d).await;
    let result = classify(outcome, d.attempts + 1);
    if result.state != "sent" {
        tracing::info!(delivery = d.id, sink = %d.sink_name, state = result.state,
            error = ?result.error, "notification not delivered");
    }
    if let Err(e) = notify.store.record_attempt(d.id, &result).await {
        tracing::warn!(error = %e, delivery = d.id, "cannot record a delivery attempt");
    }
    lock(&busy).remove(&d.id);
}

/// The outcome of attempt number `attempt`: 2xx is sent; a 4xx other than 408 and 429 will
/// not get better (failed); anything else is retried with backoff until [`MAX_ATTEMPTS`].
pub fn classify(outcome: Result<u16, String>, attempt: i32) -> Attempt {
    let status = outcome.as_ref().ok().map(|s| i32::from(*s));
    let error = match &outcome {
        Ok(s) if (200..300).contains(s) => None,
        Ok(s) => Some(format!("the sink answered {s}")),
        Err(e) => Some(e.clone()),
    };
    let permanent = matches!(outcome, Ok(s) if (400..500).contains(&s) && s != 408 && s != 429);
    let exponent = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    let retry_in = (BACKOFF * 2u32.pow(exponent)).min(MAX_BACKOFF);
    let state = match (&error, permanent || attempt >= MAX_ATTEMPTS) {
        (None, _) => "sent",
        (Some(_), true) => "failed",
        (Some(_), false) => "retrying",
    };
    Attempt {
        state,
        status,
        error,
        retry_in,
    }
}

/// One exchange with the delivery's sink: its HTTP status, or why there was none.
async fn send(notify: &Notify, d: &DeliveryRow) -> Result<u16, String> {
    let (row, creds) = match notify.credentials(d.sink_id).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err("the sink was deleted".into()),
        Err(e) => return Err(format!("the sink's credentials cannot be read: {e}")),
    };
    let Some(http) = notify.http.as_ref() else {
        return Err("no TLS root certificates on this server".into());
    };
    let items: Vec<Item> =
        serde_json::from_value(d.message["items"].clone()).map_err(|e| e.to_string())?;
    let envelope = Envelope {
        key: d.key,
        action: &d.action,
        rule: &d.rule_name,
        condition: &d.condition,
        sink: &row.name,
        summary: &d.summary,
        items: &items,
        at: d.created_at,
    };
    let (url, headers, body) = request(&row.kind, &creds, &envelope);
    http.post(&url, &headers, body).await.map_err(|e| e.0)
}

type Request = (String, Vec<(&'static str, String)>, Vec<u8>);

fn request(kind: &str, creds: &sink::Credentials, e: &Envelope<'_>) -> Request {
    match SinkKind::parse(kind) {
        Some(SinkKind::Alertmanager) => {
            let url = format!("{}/api/v2/alerts", creds.url.trim_end_matches('/'));
            (
                url,
                Vec::new(),
                message::alertmanager(e).to_string().into_bytes(),
            )
        }
        Some(SinkKind::Slack) => (
            creds.url.clone(),
            Vec::new(),
            message::slack(e).to_string().into_bytes(),
        ),
        Some(SinkKind::Teams) => (
            creds.url.clone(),
            Vec::new(),
            message::teams(e).to_string().into_bytes(),
        ),
        _ => {
            let body = message::webhook(e).to_string();
            let secret = creds.secret.as_deref().unwrap_or("");
            let mut headers = super::super::signed_headers(secret, Utc::now(), &body);
            headers.push(("x-fluxo-delivery", e.key.to_string()));
            (creds.url.clone(), headers, body.into_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hundreds_are_sent_and_client_errors_are_final() {
        assert_eq!(classify(Ok(204), 1).state, "sent");
        assert_eq!(classify(Ok(204), 1).error, None);
        let bad = classify(Ok(404), 1);
        assert_eq!((bad.state, bad.status), ("failed", Some(404)));
        assert_eq!(classify(Ok(429), 1).state, "retrying");
        assert_eq!(classify(Ok(408), 1).state, "retrying");
    }

    #[test]
    fn server_errors_and_silence_back_off_until_the_last_attempt() {
        let first = classify(Ok(500), 1);
        assert_eq!(
            (first.state, first.retry_in),
            ("retrying", Duration::from_secs(1))
        );
        assert_eq!(classify(Ok(503), 3).retry_in, Duration::from_secs(4));
        let late = classify(Err("no answer within 10 s".into()), 9);
        assert_eq!(
            (late.state, late.retry_in),
            ("retrying", Duration::from_secs(256))
        );
        assert_eq!(late.status, None);
        let last = classify(Ok(500), MAX_ATTEMPTS);
        assert_eq!((last.state, last.retry_in), ("failed", MAX_BACKOFF));
    }
}
