//! The roll-up job: closes each UTC day once it is over (midnight UTC plus a grace), computes
//! days the change log covers but no roll-up does (the start-up backfill: its first run), and
//! prunes roll-ups past their retention. Every replica runs it; the roll-up lock
//! (`store::reliability`) lets one close a day at a time, and closing a day twice writes the
//! same rows.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;

use super::Settings;
use super::figures::{Span, fold_all};
use crate::store::reliability::{Reader, midnight};
use crate::store::{Result, Store};

/// The newest day that may be closed at `now`: its end plus `grace` has passed.
pub fn last_closable(now: DateTime<Utc>, grace: Duration) -> Option<NaiveDate> {
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    now.checked_sub_signed(grace)?.date_naive().pred_opt()
}

/// The days to compute: from the first day in `lo..=last` without a roll-up to `last` (a day
/// computed again makes the days after it follow from it).
pub fn days_to_close(lo: NaiveDate, last: NaiveDate, closed: &[NaiveDate]) -> Vec<NaiveDate> {
    let first_missing = lo
        .iter_days()
        .take_while(|d| *d <= last)
        .find(|d| !closed.contains(d));
    match first_missing {
        Some(first) => first.iter_days().take_while(|d| *d <= last).collect(),
        None => Vec::new(),
    }
}

/// Close every day that is over at `now` and not closed yet; how many days this replica
/// wrote (a day another replica was closing is skipped).
pub async fn close_days(store: &Store, now: DateTime<Utc>, grace: Duration) -> Result<usize> {
    let Some(last) = last_closable(now, grace) else {
        return Ok(0);
    };
    let oldest = store
        .retained(Reader::Job)
        .await?
        .oldest
        .map(|t| t.date_naive());
    let last_closed = store.last_closed_day(Reader::Job).await?;
    // The log's first day, or (an empty log) the day after the last closed one: days before
    // the log with no roll-up cannot be computed.
    let lo = match (oldest, last_closed) {
        (Some(first), _) => first,
        (None, Some(closed)) => closed.succ_opt().unwrap_or(closed),
        (None, None) => last,
    };
    let closed = store.closed_days(Reader::Job, lo).await?;
    store.log_barrier().await?;
    let mut written = 0;
    for day in days_to_close(lo, last, &closed) {
        if close_day(store, day).await? {
            written += 1;
        } else {
            break;
        }
    }
    Ok(written)
}

/// Compute `day` from the previous day's end states (or, without them, from the log and the
/// stored objects) and its changes, and replace its roll-ups; false when another replica
/// holds the roll-up lock.
pub async fn close_day(store: &Store, day: NaiveDate) -> Result<bool> {
    let start = midnight(day);
    let end = midnight(day.succ_opt().unwrap_or(day));
    let previous = match day.pred_opt() {
        Some(d) => store.day_end_states(Reader::Job, d).await?,
        None => None,
    };
    let states = match previous {
        Some(states) => states,
        None => store.log_states(Reader::Job, start).await?,
    };
    let steps = store.health_steps(Reader::Job, start, end).await?;
    let span = Span {
        start,
        from: start,
        to: end,
    };
    let rows = fold_all(states, steps, span);
    store.write_day(day, &rows).await
}

/// Close days and prune every `settings.interval` until `cancel`; the first run at once.
pub async fn run(store: Store, settings: Settings, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(settings.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = cancel.cancelled() => return,
        }
        let work = once(&store, &settings);
        tokio::select! {
            _ = work => {}
            _ = cancel.cancelled() => return,
        }
    }
}

/// One run: close what is due, then prune.
async fn once(store: &Store, settings: &Settings) {
    let now = Utc::now();
    match close_days(store, now, settings.grace).await {
        Ok(0) => {}
        Ok(days) => tracing::info!(days, "closed the reliability roll-ups of past days"),
        Err(e) => tracing::warn!(error = %e, "cannot close reliability roll-ups; retrying later"),
    }
    let keep = chrono::Duration::days(i64::from(settings.retention_days));
    let Some(before) = now.checked_sub_signed(keep).map(|t| t.date_naive()) else {
        return;
    };
    match store.prune_rollups(before).await {
        Ok(0) => {}
        Ok(days) => tracing::info!(days, "pruned reliability roll-ups past their retention"),
        Err(e) => tracing::warn!(error = %e, "cannot prune reliability roll-ups; retrying later"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_day_closes_only_after_midnight_and_the_grace() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let grace = Duration::from_secs(600);
        assert_eq!(
            last_closable(at("2026-03-02T00:09:59Z"), grace),
            Some(day("2026-02-28"))
        );
        assert_eq!(
            last_closable(at("2026-03-02T00:10:00Z"), grace),
            Some(day("2026-03-01"))
        );
        assert_eq!(
            last_closable(at("2026-03-02T00:00:00Z"), Duration::ZERO),
            Some(day("2026-03-01"))
        );
    }

    #[test]
    fn missing_days_and_every_day_after_the_first_are_computed() {
        let closed = [day("2026-03-01"), day("2026-03-02"), day("2026-03-04")];
        assert_eq!(
            days_to_close(day("2026-03-01"), day("2026-03-05"), &closed),
            vec![day("2026-03-03"), day("2026-03-04"), day("2026-03-05")]
        );
        assert_eq!(
            days_to_close(day("2026-03-01"), day("2026-03-02"), &closed),
            Vec::<NaiveDate>::new()
        );
        assert_eq!(
            days_to_close(day("2026-03-03"), day("2026-03-02"), &[]),
            Vec::<NaiveDate>::new()
        );
    }
}
