//! Controller events about Flux objects (`flux_events`): one row per event uid, updated when
//! its count, last time or message changes, and then logged as an `event` change.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::changelog::{self, Change};
use crate::flux::{ChangeOp, FluxEvent};
use crate::store::Result;
use crate::store::resources::{BatchOutcome, ResourceKey};

/// Insert or update one event; an event without a uid, or unchanged, writes nothing.
pub(super) async fn write_event(
    tx: &Transaction<'_>,
    cluster_id: Uuid,
    e: &FluxEvent,
    out: &mut BatchOutcome,
) -> Result<()> {
    let Some(uid) = e.uid.as_deref() else {
        return Ok(());
    };
    let key = ResourceKey {
        cluster_id,
        api_group: e.involved.api_group.clone(),
        kind: e.involved.kind.clone(),
        namespace: e.involved.namespace.clone(),
        name: e.involved.name.clone(),
    };
    let written = tx
        .query_opt(
            "INSERT INTO flux_events (cluster_id, uid, resource_id, api_group, kind, namespace, name, type, reason, \
             message, count, first_seen, last_seen, reporting_controller, revision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (cluster_id, uid) DO UPDATE SET count = EXCLUDED.count, last_seen = EXCLUDED.last_seen, \
                 message = EXCLUDED.message, reason = EXCLUDED.reason, revision = EXCLUDED.revision \
             WHERE flux_events.count IS DISTINCT FROM EXCLUDED.count \
                OR flux_events.last_seen IS DISTINCT FROM EXCLUDED.last_seen \
                OR flux_events.message IS DISTINCT FROM EXCLUDED.message \
             RETURNING id",
            &[
                &cluster_id, &uid, &key.id(), &key.api_group, &key.kind, &key.namespace, &key.name, &e.event_type,
                &e.reason, &e.message, &e.count, &e.first_seen, &e.last_seen, &e.reporting_controller, &e.revision,
            ],
        )
        .await?;
    if written.is_none() {
        return Ok(());
    }
    let change = Change {
        key: &key,
        op: ChangeOp::Event,
        before: None,
        after: Some(e.event_type.as_str()),
        revision: e.revision.as_deref(),
        reason: e.reason.as_deref(),
        message: e.message.as_deref(),
        version: None,
        summary: None,
    };
    changelog::insert(tx, &[change], out).await?;
    out.events += 1;
    Ok(())
}
