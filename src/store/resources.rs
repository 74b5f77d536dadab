//! The Flux object table and its change log: the batched write path used by ingest, and the
//! row type every reader maps from.
//!
//! A batch is one transaction. It first takes the log lock (`pg_advisory_xact_lock(LOG_LOCK)`)
//! so that, across writers and replicas, `resource_changes.seq` order is commit order: a reader
//! that has seen seq N never later finds a committed seq below N. It then compares each
//! snapshot's content hash with the stored one and writes only real changes, logs each change
//! with the version it produced and what it changed, stores that version (see `versions`: the
//! object lives there), and `NOTIFY flux_changes` with the highest seq, all before commit.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio_postgres::Row;
use uuid::Uuid;

use super::types::column;
use super::{Result, Store};
use crate::flux::{FluxEvent, Health, ResourceSnapshot};

/// Advisory lock serialising commits to `resource_changes` ("fluxlog!" in ASCII).
pub const LOG_LOCK: i64 = 0x666c_7578_6c6f_6721;
/// Channel announcing committed changes; the payload is the highest committed seq.
pub const CHANGES_CHANNEL: &str = "flux_changes";

/// Namespace of the UUIDv5 resource ids.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x5f3c_2b8e_9a41_4d7c_b0e2_7c1f_0d9a_4e61);

/// The stable id of a Flux object in a cluster.
pub fn resource_id(cluster: Uuid, group: &str, kind: &str, namespace: &str, name: &str) -> Uuid {
    let key = format!("{cluster}/{group}/{kind}/{namespace}/{name}");
    Uuid::new_v5(&ID_NAMESPACE, key.as_bytes())
}

/// Identity of an object in the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceKey {
    /// Cluster.
    pub cluster_id: Uuid,
    /// API group.
    pub api_group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResourceKey {
    /// The key of a snapshot taken in `cluster_id`.
    pub fn of(cluster_id: Uuid, s: &ResourceSnapshot) -> ResourceKey {
        ResourceKey {
            cluster_id,
            api_group: s.api_group.clone(),
            kind: s.kind.clone(),
            namespace: s.namespace.clone(),
            name: s.name.clone(),
        }
    }

    /// The stable id (see [`resource_id`]).
    pub fn id(&self) -> Uuid {
        resource_id(
            self.cluster_id,
            &self.api_group,
            &self.kind,
            &self.namespace,
            &self.name,
        )
    }
}

/// One write for the batch writer.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// The object exists with this content.
    Upsert {
        /// Cluster it was seen in.
        cluster_id: Uuid,
        /// The normalised object.
        snapshot: Box<ResourceSnapshot>,
        /// Seen by a backstop relist: a real change here is drift the watch missed.
        backstop: bool,
    },
    /// The object is gone.
    Delete(ResourceKey),
    /// A relist of one kind finished: every stored object of that kind not in `seen` is gone.
    Sweep {
        /// Cluster.
        cluster_id: Uuid,
        /// API group.
        api_group: String,
        /// Kind.
        kind: String,
        /// (namespace, name) of every object the relist returned.
        seen: HashSet<(String, String)>,
        /// Part of a backstop relist: what it removes is drift the watch missed.
        backstop: bool,
        /// Only stored objects with this label key: a workload watch selects one owner
        /// family (`kustomize.toolkit.fluxcd.io/name`), and sweeps only what it could see.
        label: Option<&'static str>,
    },
    /// A controller event about a Flux object.
    Event {
        /// Cluster.
        cluster_id: Uuid,
        /// The normalised event.
        event: Box<FluxEvent>,
    },
}

impl WriteOp {
    /// The cluster this op writes to.
    pub fn cluster_id(&self) -> Uuid {
        match self {
            WriteOp::Upsert { cluster_id, .. }
            | WriteOp::Sweep { cluster_id, .. }
            | WriteOp::Event { cluster_id, .. } => *cluster_id,
            WriteOp::Delete(key) => key.cluster_id,
        }
    }

    /// The object this op is about, if it is about exactly one (for coalescing).
    fn key(&self) -> Option<ResourceKey> {
        match self {
            WriteOp::Upsert {
                cluster_id,
                snapshot,
                ..
            } => Some(ResourceKey::of(*cluster_id, snapshot)),
            WriteOp::Delete(key) => Some(key.clone()),
            WriteOp::Sweep { .. } | WriteOp::Event { .. } => None,
        }
    }
}

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows inserted or changed.
    pub upserted: usize,
    /// Rows deleted (by delete events or sweeps).
    pub deleted: usize,
    /// Upserts skipped because nothing changed.
    pub unchanged: usize,
    /// Rows deleted by sweeps (drift a relist corrected).
    pub swept: usize,
    /// Events inserted or updated.
    pub events: usize,
    /// Rows a backstop relist had to change or remove (drift), also added per cluster to
    /// `cluster_status.resync_drift_total`.
    pub drift: usize,
    /// Owners whose workload roll-up changed with no change of their own in the batch (each
    /// logged as a change of the owner).
    pub rolled_up: usize,
    /// Highest seq written, if any.
    pub max_seq: Option<i64>,
}

/// The hash that decides whether an upsert changes anything: the sanitized object without
/// `metadata.resourceVersion` (which changes on no-op status writes and across restores).
/// Snapshots carry no resourceVersion in their object (`flux::snapshot`), so they are hashed
/// as they are, without a copy.
pub fn content_hash(object: &serde_json::Value) -> Vec<u8> {
    // serde_json maps are ordered (BTreeMap), so the serialisation is canonical.
    let bytes = if object.pointer("/metadata/resourceVersion").is_some() {
        let mut object = object.clone();
        if let Some(meta) = object.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.remove("resourceVersion");
        }
        serde_json::to_vec(&object)
    } else {
        serde_json::to_vec(object)
    };
    Sha256::digest(bytes.unwrap_or_default())[..16].to_vec()
}

/// Keep the last op per object, in order; sweeps and events keep their place. Each kept op
/// comes with whether it superseded earlier ops of the same object in this batch (then a
/// backstop op is not drift: the watch had delivered that object's change just before).
pub fn coalesce(ops: &[WriteOp]) -> Vec<(&WriteOp, bool)> {
    let keys: Vec<Option<ResourceKey>> = ops.iter().map(WriteOp::key).collect();
    let mut last: HashMap<&ResourceKey, (usize, usize)> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        if let Some(key) = key {
            let entry = last.entry(key).or_insert((i, 0));
            *entry = (i, entry.1 + 1);
        }
    }
    ops.iter()
        .zip(&keys)
        .enumerate()
        .filter_map(|(i, (op, key))| match key {
            None => Some((op, false)),
            Some(k) => match last.get(k) {
                Some(&(at, count)) if at == i => Some((op, count > 1)),
                _ => None,
            },
        })
        .collect()
}

/// A stored object, as readers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRow {
    /// Stable id.
    pub id: Uuid,
    /// Cluster.
    pub cluster_id: Uuid,
    /// Cluster name (joined).
    pub cluster_name: String,
    /// API group.
    pub api_group: String,
    /// API version it was read at.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Health verdict.
    pub health: Health,
    /// Reason behind it.
    pub reason: Option<String>,
    /// Message behind it.
    pub message: Option<String>,
    /// Applied revision.
    pub revision: Option<String>,
    /// Last attempted revision.
    pub last_attempted_revision: Option<String>,
    /// Revision context for people.
    pub revision_detail: Option<String>,
    /// `spec.suspend`.
    pub suspended: bool,
    /// Source reference (JSON of `flux::SourceRef`).
    pub source_ref: Option<serde_json::Value>,
    /// dependsOn (JSON array of `flux::ObjectRef`).
    pub depends_on: serde_json::Value,
    /// Last handled reconcile request token.
    pub last_handled_reconcile_at: Option<String>,
    /// Object labels.
    pub labels: serde_json::Value,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `status.observedGeneration`.
    pub observed_generation: Option<i64>,
    /// seq of the last change written.
    pub last_seq: i64,
    /// When the condition behind the verdict changed.
    pub last_transition_at: Option<DateTime<Utc>>,
    /// First stored.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// What a workload carries beside the common columns; `None` for Flux objects.
    pub workload: Option<WorkloadColumns>,
    /// A Flux object's roll-up: the worst health of the workloads it owns (`None`: none
    /// stored, or a workload).
    pub workload_health: Option<Health>,
}

/// A workload's own columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkloadColumns {
    /// The Flux object that applied it (its id, whether or not it is stored).
    pub owner_id: Option<Uuid>,
    /// kstatus's verdict (`Current`, `InProgress`, `Failed`, `Terminating`, `Unknown`).
    pub kstatus: Option<String>,
    /// Ready replicas, where the kind has them.
    pub ready_replicas: Option<i64>,
    /// Desired replicas, where the kind has them.
    pub desired_replicas: Option<i64>,
}

/// How many columns [`RESOURCE_COLUMNS`] selects (the next column's index).
pub const RESOURCE_COLUMN_COUNT: usize = 31;

/// Columns for [`ResourceRow::from_row`], with `r` aliasing `flux_resources` and `c` `clusters`.
pub const RESOURCE_COLUMNS: &str = "r.id, r.cluster_id, c.name, r.api_group, r.api_version, r.kind, \
     r.namespace, r.name, r.health, r.reason, r.message, r.revision, r.last_attempted_revision, \
     r.revision_detail, r.suspended, r.source_ref, r.depends_on, r.last_handled_reconcile_at, \
     r.labels, r.generation, r.observed_generation, r.last_seq, r.last_transition_at, \
     r.created_at, r.updated_at, r.workload, r.owner_id, r.kstatus, r.ready_replicas, \
     r.desired_replicas, r.workload_health";

impl ResourceRow {
    /// Map a row selected with [`RESOURCE_COLUMNS`] (in that order, starting at column 0).
    pub fn from_row(row: &Row) -> Result<ResourceRow> {
        Ok(ResourceRow {
            id: row.get(0),
            cluster_id: row.get(1),
            cluster_name: row.get(2),
            api_group: row.get(3),
            api_version: row.get(4),
            kind: row.get(5),
            namespace: row.get(6),
            name: row.get(7),
            health: column(row, 8)?,
            reason: row.get(9),
            message: row.get(10),
            revision: row.get(11),
            last_attempted_revision: row.get(12),
            revision_detail: row.get(13),
            suspended: row.get(14),
            source_ref: row.get(15),
            depends_on: row.get(16),
            last_handled_reconcile_at: row.get(17),
            labels: row.get(18),
            generation: row.get(19),
            observed_generation: row.get(20),
            last_seq: row.get(21),
            last_transition_at: row.get(22),
            created_at: row.get(23),
            updated_at: row.get(24),
            workload: row.get::<_, bool>(25).then(|| WorkloadColumns {
                owner_id: row.get(26),
                kstatus: row.get(27),
                ready_replicas: row.get(28),
                desired_replicas: row.get(29),
            }),
            workload_health: column(row, 30)?,
        })
    }
}

impl Store {
    /// One stored object by id (with its cluster's name).
    pub async fn resource_row(&self, id: Uuid) -> Result<Option<ResourceRow>> {
        let conn = self.conn().await?;
        let sql = format!(
            "SELECT {RESOURCE_COLUMNS} FROM flux_resources r JOIN clusters c ON c.id = r.cluster_id WHERE r.id = $1"
        );
        conn.query_opt(&sql, &[&id])
            .await?
            .as_ref()
            .map(ResourceRow::from_row)
            .transpose()
    }

    /// The highest committed seq of the change log (0 when empty).
    pub async fn current_seq(&self) -> Result<i64> {
        let conn = self.conn().await?;
        let row = conn
            .query_one("SELECT COALESCE(max(seq), 0) FROM resource_changes", &[])
            .await?;
        Ok(row.get(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_hash_ignores_resource_version_only() {
        let a = json!({"metadata": {"name": "x", "resourceVersion": "1"}, "status": {"a": 1}});
        let b = json!({"metadata": {"name": "x", "resourceVersion": "2"}, "status": {"a": 1}});
        let c = json!({"metadata": {"name": "x", "resourceVersion": "2"}, "status": {"a": 2}});
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_ne!(content_hash(&b), content_hash(&c));
    }

    #[test]
    fn resource_ids_are_stable_and_distinct() {
        let c = Uuid::from_u128(7);
        assert_eq!(
            resource_id(c, "g", "K", "ns", "a"),
            resource_id(c, "g", "K", "ns", "a")
        );
        assert_ne!(
            resource_id(c, "g", "K", "ns", "a"),
            resource_id(c, "g", "K", "ns", "b")
        );
        assert_ne!(
            resource_id(c, "g", "K", "ns", "a"),
            resource_id(Uuid::from_u128(8), "g", "K", "ns", "a")
        );
    }

    #[test]
    fn coalescing_keeps_the_last_op_per_object_and_every_sweep() {
        let key = |name: &str| ResourceKey {
            cluster_id: Uuid::nil(),
            api_group: "g".into(),
            kind: "K".into(),
            namespace: "ns".into(),
            name: name.into(),
        };
        let sweep = WriteOp::Sweep {
            cluster_id: Uuid::nil(),
            api_group: "g".into(),
            kind: "K".into(),
            seen: HashSet::new(),
            backstop: false,
            label: None,
        };
        let ops = vec![
            WriteOp::Delete(key("a")),
            WriteOp::Delete(key("b")),
            sweep,
            WriteOp::Delete(key("a")),
        ];
        let out = coalesce(&ops);
        assert_eq!(out.len(), 3);
        assert!(matches!(out[0], (WriteOp::Delete(k), false) if k.name == "b"));
        assert!(matches!(out[1], (WriteOp::Sweep { .. }, false)));
        assert!(matches!(out[2], (WriteOp::Delete(k), true) if k.name == "a"));
    }
}
