//! LIST: selection, `limit`/`continue` pagination with a consistent list resourceVersion, and
//! the `…List` body assembled from each object's stored bytes without re-serialising.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, Response};

use super::filter::{ContinueToken, Filter, at_version};
use super::router::{Query, ResourceRoute};
use super::server::{Body, json};
use super::state::Shared;
use super::status::{ApiError, Result};
use super::store::{Key, Stored};
use super::table;

/// One page of a list.
pub struct Page {
    /// Selected objects with their keys.
    pub items: Vec<(Key, Arc<Stored>)>,
    /// List resourceVersion.
    pub rv: u64,
    /// Token for the next page, if more objects remain.
    pub next: Option<String>,
}

/// Select one page of objects.
pub fn page(shared: &Shared, r: &ResourceRoute, q: &Query) -> Result<Page> {
    let filter = Filter::from_query(r.namespace.clone(), q)?;
    let limit = match q.get("limit") {
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
        None => 0,
    };
    let token = q.get("continue").map(ContinueToken::decode).transpose()?;
    let st = shared.store.read(r.ty);
    if let Some(t) = &token
        && t.rv < st.floor
    {
        return Err(ApiError::continue_expired());
    }
    let rv = token
        .as_ref()
        .map_or_else(|| shared.store.current_rv(), |t| t.rv);
    let start = token.map(|t| (t.ns, t.name));
    let range: Box<dyn Iterator<Item = (&Key, &Arc<Stored>)>> = match (&start, &r.namespace) {
        (Some(k), _) => Box::new(st.objects.range::<Key, _>((
            std::ops::Bound::Excluded(k.clone()),
            std::ops::Bound::Unbounded,
        ))),
        (None, Some(ns)) => Box::new(st.objects.range::<Key, _>((ns.clone(), String::new())..)),
        (None, None) => Box::new(st.objects.iter()),
    };
    let mut items = Vec::new();
    let mut more = false;
    for (k, obj) in range {
        if r.namespace.as_ref().is_some_and(|ns| &k.0 > ns) {
            break;
        }
        if !filter.matches(&k.0, &k.1, &obj.labels, &obj.bytes) {
            continue;
        }
        if limit > 0 && items.len() == limit {
            more = true;
            break;
        }
        items.push((k.clone(), obj.clone()));
    }
    drop(st);
    let next = match (more, items.last()) {
        (true, Some((k, _))) => Some(
            ContinueToken {
                rv,
                ns: k.0.clone(),
                name: k.1.clone(),
            }
            .encode(),
        ),
        _ => None,
    };
    Ok(Page { items, rv, next })
}

/// Answer a LIST request (plain list, or a Table when kubectl asks for one).
pub fn list(
    shared: &Shared,
    r: &ResourceRoute,
    q: &Query,
    headers: &HeaderMap,
) -> Result<Response<Body>> {
    let page = page(shared, r, q)?;
    let rt = shared.store.rt(r.ty);
    if table::wanted(headers) {
        return Ok(table::list_table(rt, &page));
    }
    let mut out = BytesMut::with_capacity(
        128 + page
            .items
            .iter()
            .map(|(_, o)| o.bytes.len() + 1)
            .sum::<usize>(),
    );
    let api_version = super::catalog::api_version(rt.group, &r.version);
    out.put_slice(
        format!(
            "{{\"apiVersion\":\"{api_version}\",\"kind\":\"{}List\",\"metadata\":{{",
            rt.kind
        )
        .as_bytes(),
    );
    out.put_slice(format!("\"resourceVersion\":\"{}\"", page.rv).as_bytes());
    if let Some(next) = &page.next {
        out.put_slice(format!(",\"continue\":\"{next}\"").as_bytes());
    }
    out.put_slice(b"},\"items\":[");
    for (i, (_, obj)) in page.items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(&at_version(rt, &r.version, &obj.bytes));
    }
    out.put_slice(b"]}");
    Ok(json(200, Bytes::from(out)))
}
