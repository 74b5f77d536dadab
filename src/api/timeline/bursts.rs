//! Bursts: entries of one transition (e.g. became failed) on several objects within a time
//! window, shown as one timeline entry ("14 objects on 6 clusters became Failed within 40 s,
//! revision main@sha1:ab12"). Pure: a page of entries in, slots out.
//!
//! A burst is anchored at its newest member; an older entry of the same transition joins it
//! while it is at most `window` older than the anchor, else it starts the next burst. A burst
//! of a single object (one object flapping) is no burst: its entries stay single. Bursts are
//! formed within one page, so one that crosses a page's edge is grouped on each page.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::ChangeEntry;
use crate::store::queries::{Position, Transition};

/// One timeline entry: a single change or a burst.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// One change or event (boxed: a burst is a vector, an entry 300 bytes).
    One(Box<ChangeEntry>),
    /// Several objects' entries of one transition.
    Burst(Burst),
}

/// Entries of one transition on several objects within the window, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// What the members have in common.
    pub transition: Transition,
    /// The members, newest first (at least two objects).
    pub members: Vec<ChangeEntry>,
}

/// Group `entries` (newest first) into slots, in the same order: a burst takes the place of
/// its newest member.
pub fn group(entries: Vec<ChangeEntry>, window: Duration) -> Vec<Slot> {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    // Pass 1: which candidate burst each entry joins.
    let mut open: HashMap<Transition, usize> = HashMap::new();
    let mut anchors: Vec<DateTime<Utc>> = Vec::new();
    let joined: Vec<Option<usize>> = entries
        .iter()
        .map(|e| {
            let t = Transition::of(e)?;
            match open.get(&t) {
                Some(&b) if anchors[b] - e.at <= window => Some(b),
                _ => {
                    anchors.push(e.at);
                    open.insert(t, anchors.len() - 1);
                    Some(anchors.len() - 1)
                }
            }
        })
        .collect();
    // Pass 2: candidates of at least two objects are bursts.
    let mut objects: Vec<BTreeSet<uuid::Uuid>> = vec![BTreeSet::new(); anchors.len()];
    for (e, b) in entries.iter().zip(&joined) {
        if let Some(b) = b {
            objects[*b].insert(e.resource_id);
        }
    }
    // Pass 3: emit each burst at its newest member, every other entry as it is.
    let mut slots: Vec<Slot> = Vec::new();
    let mut placed: HashMap<usize, usize> = HashMap::new();
    for (e, b) in entries.into_iter().zip(joined) {
        match b.filter(|b| objects[*b].len() > 1) {
            Some(b) => match placed.get(&b) {
                Some(&i) => {
                    if let Slot::Burst(burst) = &mut slots[i] {
                        burst.members.push(e);
                    }
                }
                None => {
                    placed.insert(b, slots.len());
                    let transition = Transition::of(&e).unwrap_or(Transition::Deleted);
                    slots.push(Slot::Burst(Burst {
                        transition,
                        members: vec![e],
                    }));
                }
            },
            None => slots.push(Slot::One(Box::new(e))),
        }
    }
    slots
}

impl Burst {
    /// The newest member's position.
    pub fn newest(&self) -> Position {
        self.members
            .first()
            .map_or(Position::default(), Position::of)
    }

    /// The oldest member's position.
    pub fn oldest(&self) -> Position {
        self.members
            .last()
            .map_or(Position::default(), Position::of)
    }

    /// How many distinct objects.
    pub fn objects(&self) -> usize {
        let ids: BTreeSet<_> = self.members.iter().map(|m| m.resource_id).collect();
        ids.len()
    }

    /// The members' clusters by name (id of a deleted one), sorted.
    pub fn clusters(&self) -> Vec<String> {
        let names: BTreeSet<String> = self
            .members
            .iter()
            .map(|m| m.cluster_name.clone().unwrap_or(m.cluster_id.to_string()))
            .collect();
        names.into_iter().collect()
    }

    /// The members' kinds, sorted.
    pub fn kinds(&self) -> Vec<String> {
        let kinds: BTreeSet<&str> = self.members.iter().map(|m| m.kind.as_str()).collect();
        kinds.into_iter().map(String::from).collect()
    }

    /// The revisions the members name (each once, sorted).
    pub fn revisions(&self) -> Vec<String> {
        let revs: BTreeSet<&str> = self
            .members
            .iter()
            .filter_map(|m| m.revision.as_deref())
            .collect();
        revs.into_iter().map(String::from).collect()
    }

    /// One sentence: "14 objects on 6 clusters became Failed within 40 s, revision x".
    pub fn summary(&self) -> String {
        let (objects, clusters) = (self.objects(), self.clusters().len());
        let what = match self.transition {
            Transition::Became(h) => format!("became {}", capitalized(h.as_str())),
            Transition::Appeared => "appeared".into(),
            Transition::Deleted => "were deleted".into(),
        };
        let on = match clusters {
            1 => "on 1 cluster".to_string(),
            n => format!("on {n} clusters"),
        };
        let span = (self.newest().at - self.oldest().at).num_seconds();
        let within = match span {
            0 => "at once".to_string(),
            s if s < 120 => format!("within {s} s"),
            s => format!("within {} min", (s + 59) / 60),
        };
        let revision = match self.revisions().as_slice() {
            [] => String::new(),
            [one] => format!(", revision {one}"),
            many => format!(", {} revisions", many.len()),
        };
        format!("{objects} objects {on} {what} {within}{revision}")
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or(String::new(), |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

#[cfg(test)]
#[path = "bursts_tests.rs"]
mod tests;
