//! Upserts of Flux objects: compare content hashes, and for the objects that really changed
//! store the version produced, log the change, write the `flux_resources` row with the seq
//! of its change, and make its edges those of the new version (`store::edges`). A workload's
//! row also carries its owner, kstatus and replicas, and its images are rewritten
//! (`workload_images`); the owners whose roll-up may change are noted for `rollup`; a
//! consumer's attempted and applied revisions are recorded (`store::rollouts`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::changelog::{self, Change};
use super::rollup::Pending;
use crate::flux::{self, ChangeOp, ResourceSnapshot};
use crate::store::Result;
use crate::store::edges::{self, Declaring};
use crate::store::resources::{BatchOutcome, ResourceKey, content_hash, resource_id};
use crate::store::rollouts::{self, Consumed};
use crate::store::versions::{Existing, NewVersion, read_existing, store_versions};

/// One upsert of a batch.
pub(super) struct Upsert<'a> {
    pub cluster_id: Uuid,
    pub snapshot: &'a ResourceSnapshot,
    /// A drift candidate of a backstop relist (not superseded within the batch).
    pub backstop: bool,
}

/// Write the upserts that change something; returns (cluster, backstop) of each written row.
pub(super) async fn write(
    tx: &Transaction<'_>,
    items: Vec<Upsert<'_>>,
    out: &mut BatchOutcome,
    rollup: &mut Pending,
) -> Result<Vec<(Uuid, bool)>> {
    let keys: Vec<ResourceKey> = items
        .iter()
        .map(|u| ResourceKey::of(u.cluster_id, u.snapshot))
        .collect();
    let ids: Vec<Uuid> = keys.iter().map(ResourceKey::id).collect();
    let hashes: Vec<Vec<u8>> = items
        .iter()
        .map(|u| content_hash(&u.snapshot.object))
        .collect();
    let mut existing: HashMap<Uuid, Existing> = read_existing(tx, &ids, &hashes).await?;
    let changed: Vec<Changed> = (0..items.len())
        .filter_map(|i| {
            let old = existing.remove(&ids[i]);
            if old.as_ref().is_some_and(|e| e.hash == hashes[i]) {
                return None;
            }
            let (upsert, key, id, hash) = (&items[i], &keys[i], ids[i], hashes[i].as_slice());
            Some(Changed {
                upsert,
                key,
                id,
                hash,
                old,
            })
        })
        .collect();
    out.unchanged += items.len() - changed.len();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    write_changed(tx, changed, out, rollup).await
}

/// An upsert whose content differs from the stored one (or that is new).
struct Changed<'a> {
    upsert: &'a Upsert<'a>,
    key: &'a ResourceKey,
    id: Uuid,
    hash: &'a [u8],
    /// The stored row (`None`: first sight).
    old: Option<Existing>,
}

/// Store the versions the changes produce, log the changes, then write the rows with their seqs.
async fn write_changed(
    tx: &Transaction<'_>,
    mut changed: Vec<Changed<'_>>,
    out: &mut BatchOutcome,
    rollup: &mut Pending,
) -> Result<Vec<(Uuid, bool)>> {
    for c in &changed {
        let old_owner = c.old.as_ref().and_then(|e| e.owner);
        let first_flux = c.old.is_none() && c.upsert.snapshot.workload.is_none();
        rollup.upserted(c.id, owner_id(c.upsert), old_owner, first_flux);
    }
    let versions: Vec<NewVersion> = changed
        .iter()
        .map(|c| NewVersion {
            resource_id: c.id,
            cluster_id: c.upsert.cluster_id,
            hash: c.hash,
            object: &c.upsert.snapshot.object,
        })
        .collect();
    store_versions(tx, &versions).await?;
    let changes: Vec<Change> = changed
        .iter_mut()
        .map(|c| change(c.key, c.upsert.snapshot, c.old.take(), c.hash))
        .collect();
    let seqs = changelog::insert(tx, &changes, out).await?;
    let mut rows = Rows::default();
    for c in &changed {
        rows.push(
            c.upsert,
            c.id,
            c.hash,
            seqs.get(&c.id).copied().unwrap_or_default(),
        );
    }
    rows.upsert(tx).await?;
    write_images(tx, &changed).await?;
    let declaring: Vec<Declaring> = changed
        .iter()
        .map(|c| Declaring {
            id: c.id,
            cluster_id: c.upsert.cluster_id,
            object: &c.upsert.snapshot.object,
        })
        .collect();
    edges::write(tx, &declaring).await?;
    let consumed: Vec<Consumed> = changed
        .iter()
        .map(|c| Consumed {
            id: c.id,
            snapshot: c.upsert.snapshot,
        })
        .collect();
    rollouts::record(tx, &consumed).await?;
    out.upserted += changed.len();
    Ok(changed
        .iter()
        .map(|c| (c.upsert.cluster_id, c.upsert.backstop))
        .collect())
}

/// The change-log entry of an upsert that changes `old` (`None`: first sight) into `s`.
fn change<'a>(
    key: &'a ResourceKey,
    s: &'a ResourceSnapshot,
    old: Option<Existing>,
    hash: &'a [u8],
) -> Change<'a> {
    let summary = old
        .as_ref()
        .and_then(|e| e.object.as_ref())
        .map(|o| flux::change_summary(o, &s.object));
    Change {
        key,
        op: ChangeOp::Upsert,
        before: old.map(|e| e.health),
        after: Some(s.health.as_str()),
        revision: s.revision.as_deref(),
        reason: s.reason.as_deref(),
        message: s.message.as_deref(),
        version: Some(hash),
        summary,
    }
}

/// The columns of the `flux_resources` rows to write, one row pushed at a time.
#[derive(Default)]
struct Rows<'a> {
    clusters: Vec<Uuid>,
    groups: Vec<&'a str>,
    kinds: Vec<&'a str>,
    namespaces: Vec<&'a str>,
    names: Vec<&'a str>,
    ids: Vec<Uuid>,
    api_versions: Vec<&'a str>,
    uids: Vec<Option<&'a str>>,
    resource_versions: Vec<Option<&'a str>>,
    healths: Vec<&'static str>,
    reasons: Vec<Option<&'a str>>,
    messages: Vec<Option<&'a str>>,
    revisions: Vec<Option<&'a str>>,
    attempted: Vec<Option<&'a str>>,
    details: Vec<Option<&'a str>>,
    handled: Vec<Option<&'a str>>,
    generations: Vec<Option<i64>>,
    observed: Vec<Option<i64>>,
    suspended: Vec<bool>,
    source_refs: Vec<Option<Value>>,
    depends_on: Vec<Value>,
    labels: Vec<Value>,
    hashes: Vec<&'a [u8]>,
    last_seqs: Vec<i64>,
    transitions: Vec<Option<DateTime<Utc>>>,
    workloads: Vec<bool>,
    owners: Vec<Option<Uuid>>,
    kstatus: Vec<Option<&'a str>>,
    ready: Vec<Option<i64>>,
    desired: Vec<Option<i64>>,
}

impl<'a> Rows<'a> {
    /// Add the row of `u`, stored under `id` with content `hash`, written by change `seq`.
    fn push(&mut self, u: &Upsert<'a>, id: Uuid, hash: &'a [u8], seq: i64) {
        let s = u.snapshot;
        self.clusters.push(u.cluster_id);
        self.groups.push(&s.api_group);
        self.kinds.push(&s.kind);
        self.namespaces.push(&s.namespace);
        self.names.push(&s.name);
        self.ids.push(id);
        self.api_versions.push(&s.api_version);
        self.uids.push(s.uid.as_deref());
        self.resource_versions.push(s.resource_version.as_deref());
        self.healths.push(s.health.as_str());
        self.reasons.push(s.reason.as_deref());
        self.messages.push(s.message.as_deref());
        self.revisions.push(s.revision.as_deref());
        self.attempted.push(s.last_attempted_revision.as_deref());
        self.details.push(s.revision_detail.as_deref());
        self.handled.push(s.last_handled_reconcile_at.as_deref());
        self.generations.push(s.generation);
        self.observed.push(s.observed_generation);
        self.suspended.push(s.suspended);
        self.source_refs.push(s.source_ref.as_ref().map(to_json));
        self.depends_on.push(to_json(&s.depends_on));
        let labels = s.object.pointer("/metadata/labels").cloned();
        self.labels
            .push(labels.unwrap_or_else(|| serde_json::json!({})));
        self.hashes.push(hash);
        self.last_seqs.push(seq);
        self.transitions.push(s.last_transition_at);
        let w = s.workload.as_deref();
        self.workloads.push(w.is_some());
        self.owners.push(owner_id(u));
        self.kstatus.push(w.map(|w| w.kstatus.as_str()));
        self.ready.push(w.and_then(|w| w.ready_replicas));
        self.desired.push(w.and_then(|w| w.desired_replicas));
    }

    /// Insert or update the rows.
    async fn upsert(&self, tx: &Transaction<'_>) -> Result<()> {
        tx.execute(
            "INSERT INTO flux_resources (cluster_id, api_group, kind, namespace, name, id, api_version, uid, \
             resource_version, health, reason, message, revision, last_attempted_revision, revision_detail, \
             last_handled_reconcile_at, generation, observed_generation, suspended, source_ref, depends_on, \
             labels, content_hash, last_seq, last_transition_at, workload, owner_id, kstatus, \
             ready_replicas, desired_replicas) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], \
                 $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], \
                 $14::text[], $15::text[], $16::text[], $17::int8[], $18::int8[], $19::bool[], $20::jsonb[], \
                 $21::jsonb[], $22::jsonb[], $23::bytea[], $24::int8[], $25::timestamptz[], $26::bool[], \
                 $27::uuid[], $28::text[], $29::int8[], $30::int8[]) \
             ON CONFLICT (cluster_id, api_group, kind, namespace, name) DO UPDATE SET \
                 api_version = EXCLUDED.api_version, uid = EXCLUDED.uid, resource_version = EXCLUDED.resource_version, \
                 health = EXCLUDED.health, reason = EXCLUDED.reason, message = EXCLUDED.message, \
                 revision = EXCLUDED.revision, last_attempted_revision = EXCLUDED.last_attempted_revision, \
                 revision_detail = EXCLUDED.revision_detail, \
                 last_handled_reconcile_at = EXCLUDED.last_handled_reconcile_at, generation = EXCLUDED.generation, \
                 observed_generation = EXCLUDED.observed_generation, suspended = EXCLUDED.suspended, \
                 source_ref = EXCLUDED.source_ref, depends_on = EXCLUDED.depends_on, labels = EXCLUDED.labels, \
                 content_hash = EXCLUDED.content_hash, last_seq = EXCLUDED.last_seq, \
                 last_transition_at = EXCLUDED.last_transition_at, workload = EXCLUDED.workload, \
                 owner_id = EXCLUDED.owner_id, kstatus = EXCLUDED.kstatus, \
                 ready_replicas = EXCLUDED.ready_replicas, desired_replicas = EXCLUDED.desired_replicas, \
                 updated_at = now()",
            &[
                &self.clusters, &self.groups, &self.kinds, &self.namespaces, &self.names, &self.ids,
                &self.api_versions, &self.uids, &self.resource_versions, &self.healths, &self.reasons,
                &self.messages, &self.revisions, &self.attempted, &self.details, &self.handled,
                &self.generations, &self.observed, &self.suspended, &self.source_refs, &self.depends_on,
                &self.labels, &self.hashes, &self.last_seqs, &self.transitions, &self.workloads,
                &self.owners, &self.kstatus, &self.ready, &self.desired,
            ],
        )
        .await?;
        Ok(())
    }
}

/// The id of the Flux object that owns the workload `u` (`None`: a Flux object, or unowned).
fn owner_id(u: &Upsert<'_>) -> Option<Uuid> {
    let owner = u.snapshot.workload.as_ref()?.owner.as_ref()?;
    Some(resource_id(
        u.cluster_id,
        &owner.group,
        &owner.kind,
        &owner.namespace,
        &owner.name,
    ))
}

/// Make the stored images of the changed workloads those of their new versions.
async fn write_images(tx: &Transaction<'_>, changed: &[Changed<'_>]) -> Result<()> {
    let workloads: Vec<&Changed> = changed
        .iter()
        .filter(|c| c.upsert.snapshot.workload.is_some())
        .collect();
    if workloads.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = workloads.iter().map(|c| c.id).collect();
    tx.execute(
        "DELETE FROM workload_images WHERE resource_id = ANY($1)",
        &[&ids],
    )
    .await?;
    let mut rows = ImageRows::default();
    for c in workloads {
        let images = c.upsert.snapshot.workload.iter().flat_map(|w| &w.images);
        for (position, image) in images.enumerate() {
            rows.push(c.id, position as i32, image);
        }
    }
    rows.insert(tx).await
}

/// The columns of the `workload_images` rows to write.
#[derive(Default)]
struct ImageRows<'a> {
    ids: Vec<Uuid>,
    positions: Vec<i32>,
    containers: Vec<&'a str>,
    inits: Vec<bool>,
    images: Vec<&'a str>,
    repositories: Vec<&'a str>,
    tags: Vec<Option<&'a str>>,
    digests: Vec<Option<&'a str>>,
}

impl<'a> ImageRows<'a> {
    fn push(&mut self, id: Uuid, position: i32, image: &'a flux::WorkloadImage) {
        self.ids.push(id);
        self.positions.push(position);
        self.containers.push(&image.container);
        self.inits.push(image.init);
        self.images.push(&image.image);
        self.repositories.push(&image.repository);
        self.tags.push(image.tag.as_deref());
        self.digests.push(image.digest.as_deref());
    }

    async fn insert(&self, tx: &Transaction<'_>) -> Result<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO workload_images (resource_id, position, container, init, image, repository, tag, digest) \
             SELECT * FROM unnest($1::uuid[], $2::int4[], $3::text[], $4::bool[], $5::text[], $6::text[], \
                                  $7::text[], $8::text[])",
            &[
                &self.ids, &self.positions, &self.containers, &self.inits, &self.images,
                &self.repositories, &self.tags, &self.digests,
            ],
        )
        .await?;
        Ok(())
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    // Plain data structs serialise infallibly.
    serde_json::to_value(value).unwrap_or(Value::Null)
}
