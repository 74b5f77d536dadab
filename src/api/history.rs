//! What the history endpoints share — `/changes`, `/events` and their per-resource forms
//! (`/resources/{id}/changes`, `/events`): the objects a request selects, and reading one page
//! of a history list as its API list type; whether the fleet at a moment can be rebuilt.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::params;
use crate::store::queries::{History, Subjects};
use crate::store::reliability::Reader;

/// A page of a history list as the API returns it (`ChangeList`, `EventList`).
pub(super) trait HistoryPage: Sized {
    /// The store's list.
    type Query: History + Sync;
    /// One item, made from one of the list's entries.
    type Item: From<<Self::Query as History>::Entry>;

    /// The page: `items`, and the token of the next page (`None` on the last).
    fn new(items: Vec<Self::Item>, continue_: Option<String>) -> Self;
}

/// Read one page of `filter` after the `continue` token `token`.
pub(super) async fn page<P: HistoryPage>(
    state: &AppState,
    filter: &P::Query,
    token: Option<&str>,
    limit: Option<u32>,
) -> Result<P, ApiError> {
    let after = params::cursor(token, P::Query::decode_cursor)?;
    let page = state
        .store
        .history(filter, after.as_ref(), params::page_size(limit))
        .await?;
    let items = page.items.into_iter().map(P::Item::from).collect();
    Ok(P::new(items, page.next.map(|c| c.encode())))
}

/// The objects a history request selects, from its repeatable parameters (already counted
/// with `params::at_most`): kinds as users type them, trimmed values.
pub(super) fn subjects(
    resources: Vec<Uuid>,
    clusters: Vec<String>,
    kinds: &[String],
    namespaces: Vec<String>,
    names: Vec<String>,
) -> Result<Subjects, ApiError> {
    Ok(Subjects {
        resources,
        clusters: params::values(clusters),
        kinds: params::kinds(kinds)?,
        namespaces: params::values(namespaces),
        names: params::values(names),
    })
}

/// The fleet at `at` can be rebuilt from the change log: 410 `history_pruned` when retention
/// has removed changes and `at` is before the oldest one kept.
pub(super) async fn reachable(state: &AppState, at: DateTime<Utc>) -> Result<(), ApiError> {
    let retained = state.store.retained(Reader::Api).await?;
    if retained.pruned && retained.oldest.is_none_or(|oldest| at < oldest) {
        return Err(ApiError::history_pruned(at, retained.oldest));
    }
    Ok(())
}
