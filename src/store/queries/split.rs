//! Sorts that no single index serves, answered one health value at a time so that each part
//! is an index walk that stops at the page size, instead of sorting every match:
//!
//! - `health`: the parts are name-ordered queries (the `name` index), concatenated in
//!   severity order;
//! - `severity`: the parts are newest-first queries (the `(health, updated_at)` index),
//!   concatenated in severity order;
//! - `updated` filtered by several health values: the parts are served by the
//!   `(health, updated_at)` index and merged by `(updated_at, id)`.

use tokio_postgres::Client;
use uuid::Uuid;

use super::cursor::Cursor;
use super::filter::{ResourceFilter, ResourceOrder, SortField, list_statement};
use crate::flux::Health;
use crate::store::{ResourceRow, Result};

/// Whether [`list_split`] answers this request better than one statement.
pub fn splits(filter: &ResourceFilter, order: ResourceOrder) -> bool {
    match order.field {
        SortField::Health | SortField::Severity => true,
        SortField::Updated => filter.health.len() > 1,
        _ => false,
    }
}

/// The health values a split visits (with their severity rank), in the order their parts are
/// read.
fn parts(filter: &ResourceFilter, order: ResourceOrder) -> Vec<(usize, Health)> {
    let mut parts: Vec<(usize, Health)> = Health::SEVERITY
        .into_iter()
        .filter(|h| filter.health.is_empty() || filter.health.contains(h))
        .map(|h| (h.severity(), h))
        .collect();
    if order.descending {
        parts.reverse();
    }
    parts
}

async fn part(
    client: &Client,
    filter: &ResourceFilter,
    clusters: &[Uuid],
    health: Health,
    order: ResourceOrder,
    after: Option<&Cursor>,
    want: usize,
) -> Result<Vec<ResourceRow>> {
    let one = ResourceFilter {
        health: vec![health],
        ..filter.clone()
    };
    let (sql, params) = list_statement(&one, clusters, order, after, want as i64);
    client
        .query(&sql, &params.refs())
        .await?
        .iter()
        .map(ResourceRow::from_row)
        .collect()
}

/// Up to `want` rows in `order` after `after` (see the module docs).
pub async fn list_split(
    client: &Client,
    filter: &ResourceFilter,
    clusters: &[Uuid],
    order: ResourceOrder,
    after: Option<&Cursor>,
    want: usize,
) -> Result<Vec<ResourceRow>> {
    if order.field == SortField::Updated {
        return merged_by_update(client, filter, clusters, order, after, want).await;
    }
    let within = within_part(order);
    // A health or severity cursor is (rank, keys of the part's order…): parts before its rank
    // are done, its own part continues after those keys, later parts start from the beginning.
    let start = after.and_then(|c| match c.keys.first() {
        Some(super::cursor::KeyValue::Int(rank)) => Some((
            *rank as usize,
            Cursor {
                sort: within.as_string(),
                keys: c.keys[1..].to_vec(),
            },
        )),
        _ => None,
    });
    let mut rows = Vec::new();
    for (rank, health) in parts(filter, order) {
        let part_after = match &start {
            Some((s, _)) if (order.descending && rank > *s) || (!order.descending && rank < *s) => {
                continue;
            }
            Some((s, cursor)) if rank == *s => Some(cursor),
            _ => None,
        };
        rows.extend(
            part(
                client,
                filter,
                clusters,
                health,
                within,
                part_after,
                want - rows.len(),
            )
            .await?,
        );
        if rows.len() >= want {
            break;
        }
    }
    Ok(rows)
}

/// The order inside one health part: by name for `health`; for `severity`, newest first (and
/// oldest first when the whole order is reversed).
fn within_part(order: ResourceOrder) -> ResourceOrder {
    match order.field {
        SortField::Severity => ResourceOrder {
            field: SortField::Updated,
            descending: !order.descending,
        },
        _ => ResourceOrder {
            field: SortField::Name,
            descending: order.descending,
        },
    }
}

async fn merged_by_update(
    client: &Client,
    filter: &ResourceFilter,
    clusters: &[Uuid],
    order: ResourceOrder,
    after: Option<&Cursor>,
    want: usize,
) -> Result<Vec<ResourceRow>> {
    let mut rows = Vec::new();
    for (_, health) in parts(filter, order) {
        rows.extend(part(client, filter, clusters, health, order, after, want).await?);
    }
    rows.sort_by_key(|r| (r.updated_at, r.id));
    if order.descending {
        rows.reverse();
    }
    rows.truncate(want);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(text: &str) -> ResourceOrder {
        ResourceOrder::parse(text).unwrap()
    }

    #[test]
    fn health_sorts_always_split_and_updated_sorts_only_over_several_health_values() {
        let two = ResourceFilter {
            health: vec![Health::Failed, Health::Ready],
            ..Default::default()
        };
        let one = ResourceFilter {
            health: vec![Health::Failed],
            ..Default::default()
        };
        assert!(splits(&ResourceFilter::default(), order("-health")));
        assert!(splits(&one, order("severity")));
        assert!(splits(&two, order("-updated")));
        assert!(!splits(&one, order("-updated")));
        assert!(!splits(&ResourceFilter::default(), order("updated")));
        assert!(!splits(&two, order("name")));
    }

    #[test]
    fn severity_parts_run_newest_first_and_reverse_with_the_order() {
        assert_eq!(within_part(order("severity")), order("-updated"));
        assert_eq!(within_part(order("-severity")), order("updated"));
        assert_eq!(within_part(order("-health")), order("-name"));
        assert_eq!(
            parts(&ResourceFilter::default(), order("-severity"))[0],
            (5, Health::Ready)
        );
    }

    #[test]
    fn parts_follow_severity_and_the_health_filter() {
        let all: Vec<Health> = parts(&ResourceFilter::default(), order("health"))
            .iter()
            .map(|p| p.1)
            .collect();
        assert_eq!(all, Health::SEVERITY);
        let two = ResourceFilter {
            health: vec![Health::Ready, Health::Stalled],
            ..Default::default()
        };
        assert_eq!(
            parts(&two, order("-health")),
            [(5, Health::Ready), (1, Health::Stalled)]
        );
    }
}
