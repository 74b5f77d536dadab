//! One line saying what changed between two versions, for a history entry:
//! `spec.interval 10m0s → 5m0s; status.lastAppliedRevision main@sha1:0c2e8e1e → main@sha1:5d1f0a9b;
//! Ready message changed; reconcile requested`.
//!
//! Spec first, then status, then metadata. A condition is one item (its status, else its
//! reason, else "message changed"); list elements added or removed are counted per list;
//! Flux's request annotations and handled-request fields are named, not quoted; bookkeeping
//! (generations, transition times) is left out unless nothing else changed. At most
//! [`MAX_ITEMS`] items, then "+N more"; values are cut to [`MAX_VALUE`] characters, digests to 8
//! hex digits.

use serde_json::Value;

use super::diff::{FieldChange, Meaning, PathSegment, Section, path_text};

/// Items in a summary before "+N more".
pub const MAX_ITEMS: usize = 5;
/// Characters of a value shown in a summary.
pub const MAX_VALUE: usize = 40;

/// An item of the summary, in order of first appearance.
enum Item<'a> {
    /// A field or a Flux meaning, with its rank.
    Text(u8, String),
    /// Changes of one condition, by type.
    Condition(String, Vec<&'a FieldChange>),
    /// Whole elements added and removed from one list.
    Elements(String, usize, usize),
}

/// The summary of `changes` (from [`super::diff`]); empty when there are none.
pub fn summary(changes: &[FieldChange]) -> String {
    let kept: Vec<&FieldChange> = changes
        .iter()
        .filter(|c| c.meaning != Some(Meaning::Bookkeeping) && !redundant(c, changes))
        .collect();
    let items = if kept.is_empty() {
        changes
            .iter()
            .map(|c| Item::Text(rank(c), plain(c)))
            .collect()
    } else {
        items(kept)
    };
    let mut texts: Vec<(u8, String)> = items.into_iter().filter_map(render).collect();
    // Stable: equal ranks keep path order.
    texts.sort_by_key(|(rank, _)| *rank);
    let mut texts: Vec<String> = texts.into_iter().map(|(_, t)| t).collect();
    texts.dedup();
    if texts.len() > MAX_ITEMS {
        let more = texts.len() - MAX_ITEMS;
        texts.truncate(MAX_ITEMS);
        texts.push(format!("+{more} more"));
    }
    texts.join("; ")
}

/// `status.lastAttemptedRevision` moving to the revision that was just applied says nothing
/// that `status.lastAppliedRevision` does not.
fn redundant(change: &FieldChange, all: &[FieldChange]) -> bool {
    let at = |c: &FieldChange, field: &str| matches!(c.path.as_slice(), [PathSegment::Key(s), PathSegment::Key(f)] if s == "status" && f == field);
    at(change, "lastAttemptedRevision")
        && all
            .iter()
            .any(|c| at(c, "lastAppliedRevision") && c.after.is_some() && c.after == change.after)
}

fn items(changes: Vec<&FieldChange>) -> Vec<Item<'_>> {
    let mut out: Vec<Item> = Vec::new();
    for change in changes {
        if let Some(kind) = condition_of(change) {
            match out
                .iter_mut()
                .find(|i| matches!(i, Item::Condition(k, _) if *k == kind))
            {
                Some(Item::Condition(_, list)) => list.push(change),
                _ => out.push(Item::Condition(kind, vec![change])),
            }
        } else if let Some((list, added)) = element_of(change) {
            match out
                .iter_mut()
                .find(|i| matches!(i, Item::Elements(l, ..) if *l == list))
            {
                Some(Item::Elements(_, a, r)) => *(if added { a } else { r }) += 1,
                _ => out.push(Item::Elements(list, added as usize, !added as usize)),
            }
        } else {
            out.push(Item::Text(rank(change), plain_or_meaning(change)));
        }
    }
    out
}

/// The item's rank and text.
fn render(item: Item) -> Option<(u8, String)> {
    match item {
        Item::Text(rank, t) => Some((rank, t)),
        Item::Condition(kind, changes) => condition(&kind, &changes),
        Item::Elements(list, added, removed) => Some((
            NOISY,
            match (added, removed) {
                (a, 0) => format!("{list} {a} added"),
                (0, r) => format!("{list} {r} removed"),
                (a, r) => format!("{list} {a} added, {r} removed"),
            },
        )),
    }
}

/// Order of the items: spec, status, Flux requests, handled requests, other metadata, then the
/// noisy rest (message-only condition changes, list elements added or removed).
const SPEC: u8 = 0;
const STATUS: u8 = 1;
const REQUEST: u8 = 2;
const HANDLED: u8 = 3;
const METADATA: u8 = 4;
const NOISY: u8 = 5;

fn rank(change: &FieldChange) -> u8 {
    match (change.meaning, change.section) {
        (
            Some(
                Meaning::ReconcileRequested
                | Meaning::ForceRequested
                | Meaning::ResetRequested
                | Meaning::SuspendReason
                | Meaning::Recreated
                | Meaning::Deleting,
            ),
            _,
        ) => REQUEST,
        (Some(Meaning::ReconcileHandled | Meaning::ForceHandled | Meaning::ResetHandled), _) => {
            HANDLED
        }
        (_, Section::Spec) => SPEC,
        (_, Section::Status) => STATUS,
        (_, Section::Metadata) => METADATA,
    }
}

/// The condition type when `change` is inside `status.conditions[<type>]`.
fn condition_of(change: &FieldChange) -> Option<String> {
    match change.path.as_slice() {
        [
            PathSegment::Key(s),
            PathSegment::Key(c),
            PathSegment::Item { key: "type", value },
            ..,
        ] if s == "status" && c == "conditions" => Some(value.clone()),
        _ => None,
    }
}

/// (the list's path, added?) when `change` adds or removes a whole list element.
fn element_of(change: &FieldChange) -> Option<(String, bool)> {
    let (last, parent) = change.path.split_last()?;
    if !matches!(last, PathSegment::Index(_) | PathSegment::Item { .. }) {
        return None;
    }
    match (&change.before, &change.after) {
        (None, Some(_)) => Some((path_text(parent), true)),
        (Some(_), None) => Some((path_text(parent), false)),
        _ => None,
    }
}

fn condition(kind: &str, changes: &[&FieldChange]) -> Option<(u8, String)> {
    let status = STATUS;
    let field = |name: &str| {
        changes.iter().find(|c| {
            matches!(c.path.get(3), Some(PathSegment::Key(k)) if k == name) && c.path.len() == 4
        })
    };
    if let Some(whole) = changes.iter().find(|c| c.path.len() == 3) {
        return Some((
            status,
            match &whole.after {
                Some(after) => format!("{kind} → {}", status_and_reason(after)),
                None => format!("{kind} removed"),
            },
        ));
    }
    if let Some(field_status) = field("status") {
        let reason = field("reason")
            .and_then(|r| r.after.as_ref())
            .map(|r| format!(" ({})", show(r)))
            .unwrap_or_default();
        return Some((status, format!("{kind} {}{reason}", arrow(field_status))));
    }
    if let Some(reason) = field("reason") {
        return Some((status, format!("{kind} reason {}", arrow(reason))));
    }
    field("message").map(|_| (NOISY, format!("{kind} message changed")))
}

fn status_and_reason(condition: &Value) -> String {
    let status = condition.get("status").map(show).unwrap_or_default();
    match condition.get("reason") {
        Some(reason) => format!("{status} ({})", show(reason)),
        None => status,
    }
}

fn plain_or_meaning(change: &FieldChange) -> String {
    let phrase = match change.meaning {
        Some(Meaning::ReconcileRequested) => "reconcile requested",
        Some(Meaning::ForceRequested) => "force requested",
        Some(Meaning::ResetRequested) => "reset requested",
        Some(Meaning::ReconcileHandled) => "reconcile handled",
        Some(Meaning::ForceHandled) => "force handled",
        Some(Meaning::ResetHandled) => "reset handled",
        Some(Meaning::Recreated) => "recreated",
        Some(Meaning::Deleting) => "being deleted",
        Some(Meaning::SuspendReason) => {
            return match &change.after {
                Some(reason) => format!("suspend reason {}", quoted(reason)),
                None => "suspend reason removed".to_string(),
            };
        }
        Some(Meaning::Bookkeeping) | None => return plain(change),
    };
    phrase.to_string()
}

fn plain(change: &FieldChange) -> String {
    let path = change.path_text();
    match (&change.before, &change.after) {
        (Some(_), Some(_)) => format!("{path} {}", arrow(change)),
        (None, Some(after)) => format!("{path} set to {}", show(after)),
        _ => format!("{path} removed"),
    }
}

fn arrow(change: &FieldChange) -> String {
    let side = |v: &Option<Value>| v.as_ref().map_or_else(|| "∅".to_string(), show);
    let (before, after) = (side(&change.before), side(&change.after));
    if before == after {
        // Cut to the same text (long values alike at the start): show their ends instead.
        let tail = |v: &Option<Value>| v.as_ref().map_or_else(|| "∅".to_string(), show_end);
        return format!("{} → {}", tail(&change.before), tail(&change.after));
    }
    format!("{before} → {after}")
}

/// The end of a value, for two values that differ only after what [`show`] keeps.
fn show_end(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let count = text.chars().count();
    if count <= MAX_VALUE {
        return text;
    }
    let kept: String = text.chars().skip(count - (MAX_VALUE - 1)).collect();
    format!("…{kept}")
}

fn quoted(v: &Value) -> String {
    match v {
        Value::String(_) => format!("\"{}\"", show(v)),
        other => show(other),
    }
}

/// A value as a summary shows it: short strings whole, digests cut, collections counted.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => cut(&short_digests(s)),
        Value::Object(m) => format!("{{{} fields}}", m.len()),
        Value::Array(a) => format!("[{} items]", a.len()),
        other => other.to_string(),
    }
}

/// `sha1:`/`sha256:` followed by a long hex digest keeps 8 digits, like a short git hash.
fn short_digests(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = ["sha1:", "sha256:"]
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
        .min()
    {
        let (start, prefix) = at;
        let digits = rest[start + prefix..]
            .bytes()
            .take_while(u8::is_ascii_hexdigit)
            .count();
        let keep = if digits > 12 { 8 } else { digits };
        out.push_str(&rest[..start + prefix + keep]);
        rest = &rest[start + prefix + digits..];
    }
    out.push_str(rest);
    out
}

fn cut(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= MAX_VALUE {
        return flat;
    }
    let kept: String = flat.chars().take(MAX_VALUE - 1).collect();
    format!("{}…", kept.trim_end())
}
