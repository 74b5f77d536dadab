//! Typed read queries for the API: resource lists (filters, sort, keyset pagination), one
//! resource, the change log, controller events, and fleet counts.
//!
//! | file | owns |
//! |------|------|
//! | `selector` | label selector parsing (kubectl syntax) |
//! | `cursor` | opaque keyset cursors |
//! | `sql` | parameter binding and the shared condition builders |
//! | `filter` | resource filters (Flux objects or workloads) and sort orders as SQL |
//! | `images` | image search over `workload_images` as SQL |
//! | `list` | resource lists, counts, one resource |
//! | `split` | the `health` and multi-health `updated` sorts, one health value at a time |
//! | `history` | change log and events: one generic list of either |
//! | `stats` | counts for the fleet overview |
//! | `timeline` | the fleet timeline: the change log by time, filtered, paged both ways |
//! | `asof` | the fleet at a moment, rebuilt from the change log for lists and counts |
//! | `versions` | object versions: by object, by seq, their stored objects |

mod asof;
mod cursor;
mod filter;
mod history;
mod images;
mod list;
mod selector;
mod split;
mod sql;
mod stats;
mod timeline;
mod versions;

pub use cursor::{Cursor, CursorError, KeyType, KeyValue};
pub use filter::{Class, ResourceFilter, ResourceOrder, SortField};
pub use history::{ChangeFilter, EventFilter, EventRow, History, Subjects, history_statement};
pub(crate) use list::resolve_clusters;
pub use list::{Page, ResourceDetailRow, Total};
pub use selector::{
    LabelRequirement, MAX_REQUIREMENTS, MAX_SELECTOR_BYTES, MAX_SET_VALUES, SelectorError,
    parse_selector, parse_selectors,
};
pub use stats::{ClusterOverviewRow, Counted, FleetCounts, HealthCountRow};
pub use timeline::{
    Direction, Position, Retained, TimelineCursor, TimelineFilter, TimelineRows, Transition,
    timeline_statement,
};
pub use versions::{VersionAt, VersionRef, decode_version_cursor};
