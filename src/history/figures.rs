//! The interval arithmetic of reliability figures, pure: an object's health is a step function
//! of time, starting from a known state ([`Carry`]) and changed by the change log's
//! [`Step`]s; its figures over a span are what that function did inside the span.
//!
//! Definitions (the API and the README say the same):
//! - *failed* / *stalled* seconds: time in that health; *observed* seconds: time it existed.
//! - a *failure*: an entry into `failed` (from any other health, or a first sight as failed).
//! - a *transition*: a health change of an object that existed before and after it.
//! - a *broken spell* starts on entering `failed` or `stalled` from any other health and ends
//!   on `ready` (a *recovery*, its length the time to recover) or on deletion (no recovery);
//!   `progressing`, `suspended` and `unknown` in between do not end it.
//! - events (failures, transitions, recoveries) count in the span they happen in; a recovery's
//!   time to recover reaches back to its spell's start, on an earlier day if need be.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::flux::Health;
use crate::store::reliability::{Carry, Figures, ObjectFigures, States, Step, Steps};

/// The time an object is followed for: from `start` (where its [`Carry`] holds), counting
/// what happens in `[from, to)` (`start <= from`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Where the starting state holds.
    pub start: DateTime<Utc>,
    /// Start of the counted span.
    pub from: DateTime<Utc>,
    /// End of the counted span (excluded).
    pub to: DateTime<Utc>,
}

fn broken(h: Option<Health>) -> bool {
    matches!(h, Some(Health::Failed | Health::Stalled))
}

fn secs(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

impl Span {
    /// Seconds of `[a, b)` inside the counted span.
    fn overlap(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
        let (a, b) = (a.max(self.from), b.min(self.to));
        if b > a { secs(a, b) } else { 0.0 }
    }
}

/// Add the time `[a, b)` spent in `health` to `f`.
fn dwell(f: &mut Figures, span: &Span, health: Option<Health>, a: DateTime<Utc>, b: DateTime<Utc>) {
    let t = span.overlap(a, b);
    if health.is_some() {
        f.observed_secs += t;
    }
    match health {
        Some(Health::Failed) => f.failed_secs += t,
        Some(Health::Stalled) => f.stalled_secs += t,
        _ => {}
    }
}

/// Apply one step to the state; count it in `f` when `counted` (it happened in the span).
fn apply(cur: &mut Carry, f: &mut Figures, step: &Step, counted: bool) {
    let (old, new) = (cur.health, step.after);
    if old == new {
        return;
    }
    if counted {
        if old.is_some() && new.is_some() {
            f.transitions += 1;
        }
        if new == Some(Health::Failed) {
            f.failures += 1;
        }
    }
    match cur.broken_since {
        None if broken(new) => cur.broken_since = Some(step.at),
        Some(since) if new == Some(Health::Ready) => {
            if counted {
                f.recoveries += 1;
                f.recovery_secs += secs(since, step.at);
            }
            cur.broken_since = None;
        }
        Some(_) if new.is_none() => cur.broken_since = None,
        _ => {}
    }
    cur.health = new;
}

/// One object's figures over `span` from `carry` and its steps (in log order, none before
/// `span.start`), and its state at `span.to`. Without a starting state, the first step's
/// health before (when it has one) is taken to have held since `span.start`.
pub fn fold(carry: Carry, steps: &[Step], span: Span) -> (Figures, Carry) {
    let mut f = Figures::default();
    let mut cur = carry;
    if cur.health.is_none()
        && let Some(before) = steps.first().and_then(|s| s.before)
    {
        cur.health = Some(before);
        cur.broken_since = broken(Some(before)).then_some(span.start);
    }
    let mut since = span.start;
    for step in steps.iter().filter(|s| s.at < span.to) {
        let at = step.at.max(since);
        dwell(&mut f, &span, cur.health, since, at);
        apply(&mut cur, &mut f, step, at >= span.from);
        since = at;
    }
    dwell(&mut f, &span, cur.health, since, span.to);
    (f, cur)
}

/// Every object's figures over `span`: those in `states` (their state at `span.start`) and
/// those with `steps` in it. Objects that neither existed nor changed in the span are left out.
pub fn fold_all(mut states: States, mut steps: Steps, span: Span) -> Vec<ObjectFigures> {
    let ids: HashSet<_> = states.keys().chain(steps.keys()).copied().collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let (key, carry, own) = match (states.remove(&id), steps.remove(&id)) {
            (Some((key, carry)), own) => (key, carry, own.map(|s| s.1).unwrap_or_default()),
            (None, Some((key, own))) => (key, Carry::default(), own),
            (None, None) => continue,
        };
        let (figures, end) = fold(carry, &own, span);
        if figures.observed_secs > 0.0 || !own.is_empty() {
            out.push(ObjectFigures {
                id,
                key,
                figures,
                end,
            });
        }
    }
    out
}

#[cfg(test)]
#[path = "figures_tests.rs"]
mod tests;
