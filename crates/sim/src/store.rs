//! The in-memory object store: one global resourceVersion counter, per-type ordered maps of
//! objects kept as their serialised JSON, and a bounded per-type ring of watch events.
//!
//! Every write to a type happens under that type's write lock and allocates its resourceVersion
//! there, so within a type events are appended to the ring in rv order, and a reader holding the
//! read lock knows every event of the type with rv ≤ the global counter is already in the ring.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::watch;

use super::catalog::{Catalog, ResourceType, TypeId};
use super::meta::{self, Scope};
use super::selector::Labels;
use super::status::{ApiError, Result};

/// `(namespace, name)`; namespace is empty for cluster-scoped types.
pub type Key = (String, String);

/// One object at one resourceVersion.
#[derive(Debug)]
pub struct Stored {
    /// Its resourceVersion.
    pub rv: u64,
    /// The object serialised at the storage version (keys sorted, `apiVersion` first).
    pub bytes: Bytes,
    /// Its labels, for selectors.
    pub labels: Labels,
}

/// Watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `ADDED`
    Added,
    /// `MODIFIED`
    Modified,
    /// `DELETED`
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One retained watch event, serialised once and shared by every watcher.
#[derive(Debug)]
pub struct Change {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Event type.
    pub kind: EventType,
    /// Namespace of the object.
    pub namespace: String,
    /// Name of the object.
    pub name: String,
    /// Labels of the object, for watch label selectors.
    pub labels: Labels,
    /// `{"type":..,"object":..}\n`
    pub line: Bytes,
}

/// State of one type; guarded by [`Slot::state`].
#[derive(Debug, Default)]
pub struct TypeState {
    /// Current objects by key (written by store writes, read by list/get/watch setup).
    pub objects: BTreeMap<Key, Arc<Stored>>,
    /// Retained events, oldest first, in rv order (written by store writes, read by watchers).
    pub ring: VecDeque<Arc<Change>>,
    /// Highest rv of an event dropped from the ring (capacity or compaction). A running watcher
    /// whose cursor is below it has missed events and must be told 410.
    pub evicted: u64,
    /// Lowest rv a new watch or continue token may start from; below it answers 410.
    pub floor: u64,
}

impl TypeState {
    /// Events with rv > `after`, at most `max`.
    pub fn events_after(&self, after: u64, max: usize) -> Vec<Arc<Change>> {
        let start = self.ring.partition_point(|c| c.rv <= after);
        self.ring.range(start..).take(max).cloned().collect()
    }

    /// rv of the newest retained event.
    pub fn last_rv(&self) -> u64 {
        self.ring.back().map_or(0, |c| c.rv)
    }
}

/// One type's state plus its change notifier.
pub struct Slot {
    state: RwLock<TypeState>,
    /// Latest event rv of this type; watchers wait on it (written after each write).
    pub notify: watch::Sender<u64>,
}

/// The store of one simulated cluster.
pub struct Store {
    /// Served types.
    pub catalog: Arc<Catalog>,
    rv: AtomicU64,
    slots: Vec<Slot>,
    history_limit: AtomicUsize,
    ids: meta::IdGen,
}

impl Store {
    /// Empty store.
    pub fn new(catalog: Arc<Catalog>, history_limit: usize, seed: u64) -> Self {
        let slots = (0..catalog.types.len())
            .map(|_| Slot {
                state: RwLock::default(),
                notify: watch::channel(0).0,
            })
            .collect();
        Self {
            catalog,
            rv: AtomicU64::new(1),
            slots,
            history_limit: AtomicUsize::new(history_limit.max(1)),
            ids: meta::IdGen::new(seed),
        }
    }

    /// The current global resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.rv.load(Ordering::SeqCst)
    }

    /// Type description.
    pub fn rt(&self, ty: TypeId) -> &ResourceType {
        &self.catalog.types[ty]
    }

    /// The slot of a type (watchers subscribe to its notifier).
    pub fn slot(&self, ty: TypeId) -> &Slot {
        &self.slots[ty]
    }

    /// Read access to a type's state.
    pub fn read(&self, ty: TypeId) -> RwLockReadGuard<'_, TypeState> {
        // A panic while holding the lock leaves consistent data (writes are applied last), so
        // a poisoned lock is still safe to use.
        self.slots[ty]
            .state
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, ty: TypeId) -> RwLockWriteGuard<'_, TypeState> {
        self.slots[ty]
            .state
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// One object.
    pub fn get(&self, ty: TypeId, ns: &str, name: &str) -> Option<Arc<Stored>> {
        self.read(ty)
            .objects
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Number of objects of a type.
    pub fn count(&self, ty: TypeId) -> usize {
        self.read(ty).objects.len()
    }

    /// Create an object; fills uid, creationTimestamp, generation and resourceVersion.
    pub fn create(&self, ty: TypeId, mut obj: Value) -> Result<Arc<Stored>> {
        let rt = self.rt(ty).clone();
        meta::prepare_create(&rt, &mut obj, &self.ids)?;
        let key = meta::key_of(&obj);
        let mut st = self.write(ty);
        if st.objects.contains_key(&key) {
            return Err(ApiError::already_exists(&rt, &key.1));
        }
        let (stored, _) = self.commit(&mut st, key, obj, EventType::Added)?;
        drop(st);
        self.slots[ty].notify.send_replace(stored.rv);
        Ok(stored)
    }

    /// Update an object through `f`, honouring the subresource `scope`. A write that changes
    /// nothing keeps the old resourceVersion and emits no event (like the apiserver's no-op
    /// detection). Returns the stored object and whether it changed.
    pub fn update<F>(
        &self,
        ty: TypeId,
        ns: &str,
        name: &str,
        scope: Scope,
        f: F,
    ) -> Result<(Arc<Stored>, bool)>
    where
        F: FnOnce(&mut Value) -> Result<()>,
    {
        self.update_value(ty, ns, name, scope, f)
            .map(|(stored, changed, _)| (stored, changed))
    }

    /// [`update`](Self::update), also returning the object as a value (saves callers a parse).
    pub fn update_value<F>(
        &self,
        ty: TypeId,
        ns: &str,
        name: &str,
        scope: Scope,
        f: F,
    ) -> Result<(Arc<Stored>, bool, Value)>
    where
        F: FnOnce(&mut Value) -> Result<()>,
    {
        let rt = self.rt(ty);
        let key = (ns.to_string(), name.to_string());
        let mut st = self.write(ty);
        let cur = st
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        let old: Value = serde_json::from_slice(&cur.bytes).map_err(internal)?;
        let mut new = old.clone();
        f(&mut new)?;
        meta::finish_update(rt, &old, &mut new, scope)?;
        if new == old {
            return Ok((cur, false, new));
        }
        let (stored, new) = self.commit(&mut st, key, new, EventType::Modified)?;
        drop(st);
        self.slots[ty].notify.send_replace(stored.rv);
        Ok((stored, true, new))
    }

    /// Delete an object; the DELETED event carries the object at the deletion's rv.
    pub fn delete(&self, ty: TypeId, ns: &str, name: &str) -> Result<Arc<Stored>> {
        let rt = self.rt(ty).clone();
        let key = (ns.to_string(), name.to_string());
        let mut st = self.write(ty);
        let cur = st
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&rt, name))?;
        let obj: Value = serde_json::from_slice(&cur.bytes).map_err(internal)?;
        let (stored, _) = self.commit(&mut st, key.clone(), obj, EventType::Deleted)?;
        st.objects.remove(&key);
        drop(st);
        self.slots[ty].notify.send_replace(stored.rv);
        Ok(stored)
    }

    /// Allocate an rv, serialise once, store (unless deleted) and append the event. The
    /// stored object's bytes are a slice of the event line, so both share one allocation.
    fn commit(
        &self,
        st: &mut TypeState,
        key: Key,
        mut obj: Value,
        kind: EventType,
    ) -> Result<(Arc<Stored>, Value)> {
        let rv = self.rv.fetch_add(1, Ordering::SeqCst) + 1;
        obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let labels = meta::labels_of(&obj);
        let mut line = Vec::with_capacity(2048);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(kind.as_str().as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        let start = line.len();
        serde_json::to_writer(&mut line, &obj).map_err(internal)?;
        let end = line.len();
        line.extend_from_slice(b"}\n");
        let line = Bytes::from(line);
        let stored = Arc::new(Stored {
            rv,
            bytes: line.slice(start..end),
            labels: labels.clone(),
        });
        if kind != EventType::Deleted {
            st.objects.insert(key.clone(), stored.clone());
        }
        st.ring.push_back(Arc::new(Change {
            rv,
            kind,
            namespace: key.0,
            name: key.1,
            labels,
            line,
        }));
        let limit = self.history_limit.load(Ordering::Relaxed);
        while st.ring.len() > limit {
            if let Some(old) = st.ring.pop_front() {
                st.evicted = st.evicted.max(old.rv);
                st.floor = st.floor.max(old.rv);
            }
        }
        Ok((stored, obj))
    }

    /// Drop all retained history: a watch or continue token at any version up to now answers
    /// 410. Compaction consumes one resourceVersion so that lists taken afterwards report a
    /// version that is still watchable. Running watchers that have seen every event keep going.
    pub fn compact(&self) {
        let now = self.rv.fetch_add(1, Ordering::SeqCst) + 1;
        for ty in 0..self.slots.len() {
            let mut st = self.write(ty);
            if let Some(last) = st.ring.back().map(|c| c.rv) {
                st.evicted = st.evicted.max(last);
            }
            st.ring.clear();
            st.floor = now;
        }
    }

    /// Change how many events each type retains.
    pub fn set_history_limit(&self, limit: usize) {
        self.history_limit.store(limit.max(1), Ordering::Relaxed);
    }

    /// Fresh unique id (uid) from the seeded generator.
    pub fn new_uid(&self) -> String {
        self.ids.uid()
    }
}

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::new(500, "InternalError", e.to_string())
}
