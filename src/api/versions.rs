//! `/api/v1/resources/{id}/versions` and `/diff`: the distinct versions of one Flux object that
//! the retained change log produced, and what changed between any two of them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;
use super::model::Health;
use super::params::{self, MAX_LIMIT};
use super::resources::{cluster_visible, visible};
use super::{ApiTags, AppState};
use crate::auth::Principal;
use crate::flux;
use crate::store::queries::{VersionAt, VersionRef, decode_version_cursor};

/// One version of an object: the content a change produced.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct ResourceVersion {
    /// seq of the change that produced it (pass as `from`/`to` to the diff).
    pub seq: i64,
    /// When that change was committed.
    pub at: DateTime<Utc>,
    /// Content hash (hex) of the sanitized object without `resourceVersion`: equal hashes are
    /// the same content (an object flipping between two states shows two hashes in turn).
    pub version: String,
    /// What changed from the version before; null for a first sight (and for versions logged
    /// before summaries were kept).
    pub summary: Option<String>,
    /// Health after the change.
    pub health: Option<Health>,
}

impl From<VersionRef> for ResourceVersion {
    fn from(v: VersionRef) -> ResourceVersion {
        ResourceVersion {
            seq: v.seq,
            at: v.at,
            version: hex::encode(&v.hash),
            summary: v.summary,
            health: v.health.map(Health::from),
        }
    }
}

/// A page of versions, newest first.
#[derive(Object, Debug)]
pub struct VersionList {
    /// The versions, highest seq first.
    pub items: Vec<ResourceVersion>,
    /// Pass as `continue` to get the next (older) page; null on the last page.
    #[oai(rename = "continue")]
    pub continue_: Option<String>,
}

/// Which part of the object a changed field is in.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum FieldSection {
    /// `spec` (desired state).
    Spec,
    /// `status` (what the controller reports).
    Status,
    /// `apiVersion`, `kind`, `metadata`.
    Metadata,
}

/// What a change means to Flux, beyond its values.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "camelCase")]
pub enum FieldMeaning {
    /// `reconcile.fluxcd.io/requestedAt` set: a reconcile was requested.
    ReconcileRequested,
    /// `reconcile.fluxcd.io/forceAt` set (HelmRelease): a forced install or upgrade.
    ForceRequested,
    /// `reconcile.fluxcd.io/resetAt` set (HelmRelease): remediation counters reset.
    ResetRequested,
    /// `suspend.toolkit.fluxcd.io/reason` set, changed or removed.
    SuspendReason,
    /// `status.lastHandledReconcileAt`: the controller handled a reconcile request.
    ReconcileHandled,
    /// `status.lastHandledForceAt`: the controller handled a force request.
    ForceHandled,
    /// `status.lastHandledResetAt`: the controller handled a reset request.
    ResetHandled,
    /// `metadata.uid` changed: the object was deleted and created again.
    Recreated,
    /// `metadata.deletionTimestamp` set: the object is being deleted.
    Deleting,
    /// Bookkeeping that follows other changes (generations, transition and update times).
    Bookkeeping,
}

/// One changed field.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct FieldDiff {
    /// The field, e.g. `spec.interval`, `metadata.annotations["reconcile.fluxcd.io/requestedAt"]`,
    /// `status.conditions[Ready].status` (list elements by `type`, `id`, `version` or `name`, else
    /// by position).
    pub path: String,
    /// Spec, status or metadata.
    pub section: FieldSection,
    /// True when the field is new in `to`.
    pub added: bool,
    /// True when the field is gone in `to`.
    pub removed: bool,
    /// The value in `from` (absent when added).
    pub before: Option<Value>,
    /// The value in `to` (absent when removed).
    pub after: Option<Value>,
    /// What it means to Flux, if more than its values.
    pub meaning: Option<FieldMeaning>,
}

/// One side of a diff.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct VersionSide {
    /// The version.
    #[oai(flatten)]
    pub version: ResourceVersion,
    /// The object as stored (sanitized: no `managedFields`, no kubectl last-applied annotation).
    pub object: Value,
}

/// Two versions of an object and what changed from the first to the second.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct VersionDiff {
    /// The older side (or whichever `from` named).
    pub from: VersionSide,
    /// The other side.
    pub to: VersionSide,
    /// Every changed field, spec first, then status, then metadata; `metadata.resourceVersion`
    /// is never a change.
    pub changes: Vec<FieldDiff>,
    /// The changes in one line, as history entries show them.
    pub summary: String,
}

impl From<flux::FieldChange> for FieldDiff {
    fn from(c: flux::FieldChange) -> FieldDiff {
        FieldDiff {
            path: c.path_text(),
            section: match c.section {
                flux::Section::Spec => FieldSection::Spec,
                flux::Section::Status => FieldSection::Status,
                flux::Section::Metadata => FieldSection::Metadata,
            },
            added: c.before.is_none(),
            removed: c.after.is_none(),
            meaning: c.meaning.map(meaning),
            before: c.before,
            after: c.after,
        }
    }
}

fn meaning(m: flux::Meaning) -> FieldMeaning {
    use flux::Meaning as M;
    match m {
        M::ReconcileRequested => FieldMeaning::ReconcileRequested,
        M::ForceRequested => FieldMeaning::ForceRequested,
        M::ResetRequested => FieldMeaning::ResetRequested,
        M::SuspendReason => FieldMeaning::SuspendReason,
        M::ReconcileHandled => FieldMeaning::ReconcileHandled,
        M::ForceHandled => FieldMeaning::ForceHandled,
        M::ResetHandled => FieldMeaning::ResetHandled,
        M::Recreated => FieldMeaning::Recreated,
        M::Deleting => FieldMeaning::Deleting,
        M::Bookkeeping => FieldMeaning::Bookkeeping,
    }
}

#[derive(ApiResponse)]
enum VersionsResponse {
    /// A page of versions.
    #[oai(status = 200)]
    Ok(Json<VersionList>),
}

#[derive(ApiResponse)]
enum DiffResponse {
    /// Both versions and what changed.
    #[oai(status = 200)]
    Ok(Json<VersionDiff>),
}

/// The version `seq` names for object `id`, or why there is none (as the caller's error).
async fn version(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    param: &str,
    seq: i64,
) -> Result<VersionRef, ApiError> {
    let version = match state.store.version_at(id, seq).await? {
        VersionAt::Found(v) => v,
        VersionAt::Pruned => return Err(pruned(seq)),
        VersionAt::NotRecorded => {
            return Err(ApiError::gone(
                "version_not_recorded",
                format!("the change at seq {seq} was logged before object versions were kept"),
            ));
        }
        VersionAt::NotAVersion => {
            return Err(ApiError::bad_request(
                "not_a_version",
                format!(
                    "`{param}`: seq {seq} is not a change that produced a version of resource {id} \
                     (see GET /api/v1/resources/{id}/versions)"
                ),
            ));
        }
    };
    let not_found = || ApiError::not_found(format!("resource {id} not found and has no history"));
    cluster_visible(state, principal, version.cluster_id, not_found).await?;
    Ok(version)
}

fn pruned(seq: i64) -> ApiError {
    ApiError::gone(
        "version_pruned",
        format!(
            "the version at seq {seq} is no longer kept (change-log retention or cluster deletion)"
        ),
    )
}

/// The object of `version`; gone when its cluster was deleted meanwhile.
async fn side(state: &AppState, id: Uuid, version: VersionRef) -> Result<VersionSide, ApiError> {
    let seq = version.seq;
    let object = state
        .store
        .version_object(id, &version.hash)
        .await?
        .ok_or_else(|| pruned(seq))?;
    Ok(VersionSide {
        version: version.into(),
        object,
    })
}

/// The version before `to`, for a diff without `from` (same object, so the same cluster `to`
/// was checked against).
async fn previous(state: &AppState, id: Uuid, to: &VersionRef) -> Result<VersionRef, ApiError> {
    match state.store.version_before(id, to.seq).await? {
        Some(v) => Ok(v),
        None if to.created => Err(ApiError::bad_request(
            "no_previous_version",
            format!(
                "the change at seq {} created the object: there is no version before it",
                to.seq
            ),
        )),
        None => Err(ApiError::gone(
            "version_pruned",
            format!(
                "the version before seq {} is no longer kept (change-log retention)",
                to.seq
            ),
        )),
    }
}

/// The versions endpoints.
pub struct VersionsApi;

#[OpenApi(prefix_path = "/api/v1/resources", tag = "ApiTags::Resources")]
impl VersionsApi {
    /// List a resource's versions
    ///
    /// Every change in the retained log that produced a version of the object, newest first,
    /// with the version's content hash and what changed. A version stays available as long as
    /// a retained change references it.
    #[oai(
        path = "/:id/versions",
        method = "get",
        operation_id = "listResourceVersions"
    )]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
        /// Page size, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// The `continue` value of the previous page.
        #[oai(name = "continue")]
        continue_: Query<Option<String>>,
    ) -> Result<VersionsResponse, ApiError> {
        visible(&state, &principal, id.0).await?;
        let after = params::cursor(continue_.0.as_deref(), decode_version_cursor)?;
        let page = state
            .store
            .list_versions(id.0, after.as_ref(), params::page_size(limit.0))
            .await?;
        Ok(VersionsResponse::Ok(Json(VersionList {
            items: page.items.into_iter().map(Into::into).collect(),
            continue_: page.next.map(|c| c.encode()),
        })))
    }

    /// Compare two versions of a resource
    ///
    /// Both objects and every changed field between the versions produced by the changes at
    /// seq `from` and `to` (any two, in either order). Without `from`, the version before `to`.
    /// 400 when a seq is not a change that produced a version of this object; 410 when the
    /// version is no longer kept (change-log retention, cluster deleted).
    #[oai(
        path = "/:id/diff",
        method = "get",
        operation_id = "diffResourceVersions"
    )]
    async fn diff(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        id: Path<Uuid>,
        /// seq of the change that produced the first version (default: the version before `to`).
        from: Query<Option<i64>>,
        /// seq of the change that produced the second version.
        to: Query<i64>,
    ) -> Result<DiffResponse, ApiError> {
        visible(&state, &principal, id.0).await?;
        let to = version(&state, &principal, id.0, "to", to.0).await?;
        let from = match from.0 {
            Some(seq) => version(&state, &principal, id.0, "from", seq).await?,
            None => previous(&state, id.0, &to).await?,
        };
        let (from, to) = futures::try_join!(side(&state, id.0, from), side(&state, id.0, to))?;
        let changes = flux::diff(&from.object, &to.object);
        let summary = flux::summary(&changes);
        Ok(DiffResponse::Ok(Json(VersionDiff {
            from,
            to,
            changes: changes.into_iter().map(Into::into).collect(),
            summary,
        })))
    }
}

const _: () = assert!(MAX_LIMIT == 1000, "the limit validators above say 1000");
