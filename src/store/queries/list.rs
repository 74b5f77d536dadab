//! Reading resources: filtered, sorted, keyset-paginated lists, counts, and one resource.

use tokio_postgres::Client;
use uuid::Uuid;

use super::cursor::{Cursor, CursorError};
use super::filter::{ResourceFilter, ResourceOrder, count_statement, list_statement};
use super::split::{list_split, splits};
use crate::store::{
    RESOURCE_COLUMN_COUNT, RESOURCE_COLUMNS, ResourceRow, Result, Store, log_bounds,
};

/// One page of a list and the cursor of the next page (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows, in the requested order.
    pub items: Vec<T>,
    /// Where the next page starts.
    pub next: Option<Cursor>,
    /// The change-log position the rows reflect at least (every change up to this seq is in
    /// them), when the query reads it.
    pub position: Option<i64>,
}

impl<T> Page<T> {
    /// Cut `rows` fetched with one extra row down to `limit`, making the cursor from the last
    /// kept row when the extra row shows that more follow.
    pub fn from_rows(mut rows: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        Page {
            items: rows,
            next,
            position: None,
        }
    }
}

/// A resource with its full sanitized object.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDetailRow {
    /// The summary columns.
    pub row: ResourceRow,
    /// The object as stored (without managed fields and kubectl's last-applied annotation).
    pub object: serde_json::Value,
}

/// How many rows match a filter, up to a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    /// The count, at most the cap.
    pub count: i64,
    /// More rows than the cap match.
    pub capped: bool,
}

/// The ids of the clusters in `refs` (ids or names). Ids are kept as given even when no such
/// cluster exists any more (the change log outlives it); names are looked up.
pub async fn resolve_clusters(client: &Client, refs: &[String]) -> Result<Vec<Uuid>> {
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<Uuid> = refs.iter().filter_map(|r| r.parse().ok()).collect();
    let rows = client
        .query("SELECT id FROM clusters WHERE name = ANY($1)", &[&refs])
        .await?;
    ids.extend(rows.iter().map(|r| r.get::<_, Uuid>(0)));
    ids.sort();
    ids.dedup();
    Ok(ids)
}

impl ResourceOrder {
    /// Read a `continue` token issued for this order.
    pub fn decode_cursor(&self, token: &str) -> Result<Cursor, CursorError> {
        Cursor::decode(token, &self.as_string(), &self.key_types())
    }
}

impl Store {
    /// Up to `limit` resources matching `filter` in `order`, after `after`.
    pub async fn list_resources(
        &self,
        filter: &ResourceFilter,
        order: ResourceOrder,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<ResourceRow>> {
        let conn = self.read_conn().await?;
        // Read before the rows, on the same server: a standby replays the log in order, so
        // the rows reflect at least this position (never less), however far it lags.
        let position = log_bounds(&conn).await?.head;
        let clusters = resolve_clusters(&conn, &filter.clusters).await?;
        let rows = if splits(filter, order) {
            list_split(&conn, filter, &clusters, order, after, limit + 1).await?
        } else {
            let (sql, params) = list_statement(filter, &clusters, order, after, limit as i64 + 1);
            let rows = conn.query(&sql, &params.refs()).await?;
            rows.iter()
                .map(ResourceRow::from_row)
                .collect::<Result<_>>()?
        };
        let page = Page::from_rows(rows, limit, |row| order.cursor_after(row));
        Ok(Page {
            position: Some(position),
            ..page
        })
    }

    /// How many resources match `filter`, counting no further than `cap` (so that a count of
    /// a broad filter over a large fleet stays cheap).
    pub async fn count_resources(&self, filter: &ResourceFilter, cap: i64) -> Result<Total> {
        let conn = self.read_conn().await?;
        let clusters = resolve_clusters(&conn, &filter.clusters).await?;
        let (sql, params) = count_statement(filter, &clusters, cap + 1);
        let count: i64 = conn.query_one(&sql, &params.refs()).await?.get(0);
        Ok(Total {
            count: count.min(cap),
            capped: count > cap,
        })
    }

    /// One resource with its object, if it exists.
    pub async fn resource(&self, id: Uuid) -> Result<Option<ResourceDetailRow>> {
        // The object is its current version (`store::versions`), stored without the
        // resourceVersion, which the row keeps.
        let sql = format!(
            "SELECT {RESOURCE_COLUMNS}, \
                    CASE WHEN r.resource_version IS NULL THEN COALESCE(v.object, '{{}}') \
                         ELSE jsonb_set(COALESCE(v.object, '{{}}'), '{{metadata,resourceVersion}}', \
                                        to_jsonb(r.resource_version)) END \
             FROM flux_resources r JOIN clusters c ON c.id = r.cluster_id \
             LEFT JOIN resource_versions v ON v.resource_id = r.id AND v.content_hash = r.content_hash \
             WHERE r.id = $1"
        );
        let conn = self.read_conn().await?;
        let row = conn.query_opt(&sql, &[&id]).await?;
        row.map(|r| {
            Ok(ResourceDetailRow {
                row: ResourceRow::from_row(&r)?,
                object: r.get(RESOURCE_COLUMN_COUNT),
            })
        })
        .transpose()
    }

    /// The cluster a resource belongs to: from its row, or, once it is deleted, from the
    /// history it left behind (its newest change, else its newest event). `None` when the id
    /// is unknown everywhere — access checks deny then, they never guess.
    pub async fn resource_cluster(&self, id: Uuid) -> Result<Option<Uuid>> {
        let conn = self.read_conn().await?;
        let row = conn
            .query_one(
                "SELECT COALESCE( \
                     (SELECT cluster_id FROM flux_resources WHERE id = $1), \
                     (SELECT cluster_id FROM resource_changes WHERE resource_id = $1 \
                       ORDER BY seq DESC LIMIT 1), \
                     (SELECT cluster_id FROM flux_events WHERE resource_id = $1 \
                       ORDER BY last_seen DESC NULLS LAST LIMIT 1))",
                &[&id],
            )
            .await?;
        Ok(row.get(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queries::cursor::KeyValue;

    fn cursor(n: &i64) -> Cursor {
        Cursor {
            sort: "n".into(),
            keys: vec![KeyValue::Int(*n)],
        }
    }

    #[test]
    fn a_page_with_an_extra_row_gets_a_cursor_from_its_last_kept_row() {
        let page = Page::from_rows(vec![1, 2, 3], 2, cursor);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next, Some(cursor(&2)));
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        assert_eq!(Page::from_rows(vec![1, 2], 2, cursor).next, None);
        assert_eq!(Page::from_rows(Vec::<i64>::new(), 2, cursor).next, None);
    }
}
