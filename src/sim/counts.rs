//! Request counters per verb and resource, for benchmarks and tests that assert how often a
//! client listed, watched or patched.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::state::Shared;

/// Request verb, as the simulator classifies requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verb {
    /// Collection GET.
    List,
    /// Collection GET with `watch=true`.
    Watch,
    /// Object GET.
    Get,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// `/api`, `/apis`, `/version`, `/openapi`...
    Discovery,
}

impl Verb {
    /// Upper-case name, as in `snapshot()` keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "LIST",
            Self::Watch => "WATCH",
            Self::Get => "GET",
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Discovery => "DISCOVERY",
        }
    }
}

/// Counters: written by the request path, read by [`RequestCounts`].
#[derive(Debug, Default)]
pub struct CountState(Mutex<BTreeMap<(Verb, String), u64>>);

impl CountState {
    /// Count one request (resource is the plural, or the path for discovery).
    pub fn add(&self, verb: Verb, resource: &str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match m.get_mut(&(verb, resource.to_string())) {
            Some(n) => *n += 1,
            None => {
                m.insert((verb, resource.to_string()), 1);
            }
        }
    }
}

/// Live view of a cluster's request counters.
#[derive(Clone)]
pub struct RequestCounts {
    pub(crate) shared: Arc<Shared>,
}

impl RequestCounts {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Verb, String), u64>> {
        self.shared
            .counts
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Requests with `verb` on `resource` (plural, e.g. `kustomizations`).
    pub fn get(&self, verb: Verb, resource: &str) -> u64 {
        self.map()
            .get(&(verb, resource.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests with `verb` on any resource.
    pub fn total(&self, verb: Verb) -> u64 {
        self.map()
            .iter()
            .filter(|((v, _), _)| *v == verb)
            .map(|(_, n)| n)
            .sum()
    }

    /// All counters as `"LIST kustomizations" → n`.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.map()
            .iter()
            .map(|((v, r), n)| (format!("{} {r}", v.as_str()), *n))
            .collect()
    }

    /// Zero every counter.
    pub fn reset(&self) {
        self.map().clear();
    }
}
