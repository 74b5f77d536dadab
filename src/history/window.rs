//! Reliability figures of a window, on read: the closed days' roll-ups summed in SQL, and the
//! days not closed yet (today, and yesterday within the grace) computed from the change log
//! with the same arithmetic, starting from the last closed day's end states.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::figures::{Span, fold_all};
use crate::store::reliability::{ObjectFigures, Reader, RollupFilter, States, midnight};
use crate::store::{Result, Store};

/// Every object's figures from UTC midnight of `from` to `now`, and the earliest instant the
/// figures cover (None: nothing at all).
pub struct WindowFigures {
    /// Per object, in no particular order.
    pub objects: Vec<ObjectFigures>,
    /// Where the figures start: later than the window's start when neither roll-ups nor the
    /// change log reach back that far.
    pub covered_from: Option<DateTime<Utc>>,
}

/// The figures of `[midnight(from), now)` that `filter` selects.
pub async fn figures(
    store: &Store,
    from: NaiveDate,
    now: DateTime<Utc>,
    filter: &RollupFilter,
) -> Result<WindowFigures> {
    let last_closed = store.last_closed_day(Reader::Api).await?;
    let open_day = match last_closed {
        Some(d) => d.succ_opt().unwrap_or(d),
        None => store
            .retained(Reader::Api)
            .await?
            .oldest
            .map_or(now.date_naive(), |t| t.date_naive()),
    };
    let mut objects: HashMap<_, ObjectFigures> = HashMap::new();
    let mut covered_from = None;
    // The last closed day's end states, when the closed part read them.
    let mut ended: Option<States> = None;
    if from < open_day {
        let first = store.closed_days(Reader::Api, from).await?.first().copied();
        covered_from = first.map(midnight);
        let closed = store.closed_figures(from, open_day, filter).await?;
        ended = Some(end_states(&closed));
        for o in closed {
            objects.insert(o.id, o);
        }
    }
    let start = midnight(open_day);
    if start < now {
        let states = match (last_closed, ended) {
            // The closed part ends on the last closed day: its rows hold the end states of the
            // objects the filter selects, and the others are dropped below anyway.
            (Some(_), Some(ended)) => ended,
            (Some(d), None) => store
                .day_end_states(Reader::Api, d)
                .await?
                .unwrap_or_default(),
            (None, _) => store.log_states(Reader::Api, start).await?,
        };
        let steps = store.health_steps(Reader::Api, start, now).await?;
        let span = Span {
            start,
            from: start.max(midnight(from)),
            to: now,
        };
        covered_from = covered_from.or(Some(span.from));
        for open in fold_all(states, steps, span) {
            if filter.matches(&open.key) {
                merge(&mut objects, open);
            }
        }
    }
    Ok(WindowFigures {
        objects: objects.into_values().collect(),
        covered_from,
    })
}

/// The states at the end of a closed part of the objects that still existed then.
fn end_states(closed: &[ObjectFigures]) -> States {
    closed
        .iter()
        .filter(|o| o.end.health.is_some())
        .map(|o| (o.id, (o.key.clone(), o.end)))
        .collect()
}

/// Add the open days' figures of an object to its closed ones; its state is the open days'.
fn merge(objects: &mut HashMap<uuid::Uuid, ObjectFigures>, open: ObjectFigures) {
    match objects.get_mut(&open.id) {
        Some(o) => {
            o.figures.add(&open.figures);
            o.end = open.end;
            o.key = open.key;
        }
        None => {
            objects.insert(open.id, open);
        }
    }
}
