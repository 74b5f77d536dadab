//! `/api/v1/notifications/…`: sinks (admin; credentials write-only), rules (admin), mutes
//! (operators), and a test message per sink.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::auth::Audit;
use super::error::ApiError;
use super::{ApiTags, AppState};
use crate::auth::Principal;
use crate::notify::{NewSinkInput, RuleFilter, SinkKind};
use crate::store::{MuteRow, RuleRow, SinkRow};

/// What a sink speaks.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum SinkType {
    /// JSON signed with HMAC-SHA256 (`X-Fluxo-Signature`, `X-Fluxo-Timestamp`).
    Webhook,
    /// Alertmanager's v2 API (`POST {url}/api/v2/alerts`).
    Alertmanager,
    /// A Slack incoming webhook (Block Kit message); takes no secret.
    Slack,
    /// A Microsoft Teams workflow webhook (Adaptive Card); takes no secret.
    Teams,
}

/// A sink. Its URL and secret are never returned.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct Sink {
    /// Stable id.
    pub id: Uuid,
    /// Unique name.
    pub name: String,
    /// `webhook`, `alertmanager`, `slack` or `teams`.
    pub kind: String,
    /// `scheme://host[:port]` of its URL (path and query hidden: they may hold tokens).
    pub endpoint: String,
    /// Plain http:// was allowed.
    pub insecure: bool,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<SinkRow> for Sink {
    fn from(r: SinkRow) -> Sink {
        Sink {
            id: r.id,
            name: r.name,
            kind: r.kind,
            endpoint: r.endpoint,
            insecure: r.insecure,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

/// Create a sink.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSink {
    /// A unique name (lowercase letters, digits, `-`).
    #[oai(validator(min_length = 1, max_length = 63))]
    pub name: String,
    /// What it speaks.
    pub kind: SinkType,
    /// https:// URL (Alertmanager: its base URL). Stored encrypted, never returned.
    #[oai(validator(max_length = 2048))]
    pub url: String,
    /// Webhook signing secret (16–1024 characters); the other kinds take none. Stored encrypted.
    #[oai(validator(min_length = 16, max_length = 1024))]
    pub secret: Option<String>,
    /// Accept a plain http:// URL.
    #[oai(default)]
    pub allow_insecure: bool,
}

/// Which objects a rule or mute covers (the stream's filter, plus cluster labels). Omitted
/// parts match everything.
#[derive(Object, Debug, Clone, Default)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotificationFilter {
    /// Clusters by id or name; empty: all.
    pub clusters: Option<Vec<String>>,
    /// Labels every matching cluster has.
    pub cluster_labels: Option<BTreeMap<String, String>>,
    /// Flux kinds (kind, plural or short name); empty: all.
    pub kinds: Option<Vec<String>>,
    /// Namespaces; empty: all.
    pub namespaces: Option<Vec<String>>,
    /// Object names starting with this.
    pub name_prefix: Option<String>,
}

impl From<NotificationFilter> for RuleFilter {
    fn from(f: NotificationFilter) -> RuleFilter {
        RuleFilter {
            clusters: f.clusters.unwrap_or_default(),
            cluster_labels: f.cluster_labels.unwrap_or_default(),
            kinds: f.kinds.unwrap_or_default(),
            namespaces: f.namespaces.unwrap_or_default(),
            name_prefix: f.name_prefix.unwrap_or_default(),
        }
    }
}

fn filter_of(stored: serde_json::Value) -> NotificationFilter {
    // Written by `notify` from a validated `RuleFilter`; a row edited by hand reads as empty.
    let f: RuleFilter = serde_json::from_value(stored).unwrap_or_default();
    NotificationFilter {
        clusters: Some(f.clusters),
        cluster_labels: Some(f.cluster_labels),
        kinds: Some(f.kinds),
        namespaces: Some(f.namespaces),
        name_prefix: Some(f.name_prefix),
    }
}

/// When a rule sends.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "camelCase")]
pub enum ConditionName {
    /// An object becomes failed.
    Failed,
    /// An object becomes stalled.
    Stalled,
    /// An object is still failed after `afterMinutes`.
    StillFailed,
    /// An object recovers after a notified failure.
    Recovered,
    /// A cluster becomes unreachable.
    ClusterUnreachable,
    /// A cluster becomes degraded.
    ClusterDegraded,
    /// A cluster recovers after a notified outage.
    ClusterRecovered,
}

/// A notification rule.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct Rule {
    /// Stable id.
    pub id: Uuid,
    /// Unique name.
    pub name: String,
    /// The sink its messages go to.
    pub sink_id: Uuid,
    /// Which objects.
    pub filter: NotificationFilter,
    /// When it sends (a word of `ConditionName`).
    pub condition: String,
    /// Minutes for `stillFailed`.
    pub after_minutes: Option<i32>,
    /// Changes within this many seconds go out as one message.
    pub group_window_secs: i32,
    /// Off: kept, not evaluated.
    pub enabled: bool,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<RuleRow> for Rule {
    fn from(r: RuleRow) -> Rule {
        Rule {
            id: r.id,
            name: r.name,
            sink_id: r.sink_id,
            filter: filter_of(r.filter),
            condition: r.condition,
            after_minutes: r.after_minutes,
            group_window_secs: r.group_window_secs,
            enabled: r.enabled,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

/// Create a rule.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRule {
    /// A unique name (lowercase letters, digits, `-`).
    #[oai(validator(min_length = 1, max_length = 63))]
    pub name: String,
    /// The sink its messages go to.
    pub sink_id: Uuid,
    /// Which objects; omitted: all.
    pub filter: Option<NotificationFilter>,
    /// When it sends.
    pub condition: ConditionName,
    /// Minutes for `stillFailed` (1–1440); refused for the other conditions.
    #[oai(validator(minimum(value = "1"), maximum(value = "1440")))]
    pub after_minutes: Option<i32>,
    /// Grouping window in seconds (0–3600); default 30.
    #[oai(validator(minimum(value = "0"), maximum(value = "3600")))]
    pub group_window_secs: Option<i32>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// A mute: matching objects are not notified until it expires.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct Mute {
    /// Stable id.
    pub id: Uuid,
    /// The rule it mutes; null: every rule.
    pub rule_id: Option<Uuid>,
    /// Which objects.
    pub filter: NotificationFilter,
    /// Why.
    pub reason: String,
    /// When it stops muting.
    pub expires_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<MuteRow> for Mute {
    fn from(m: MuteRow) -> Mute {
        Mute {
            id: m.id,
            rule_id: m.rule_id,
            filter: filter_of(m.filter),
            reason: m.reason,
            expires_at: m.expires_at,
            created_by: m.created_by,
            created_at: m.created_at,
        }
    }
}

/// Create a mute.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateMute {
    /// Mute only this rule; omitted: every rule.
    pub rule_id: Option<Uuid>,
    /// Which objects; omitted: all.
    pub filter: Option<NotificationFilter>,
    /// Why (1–500 characters).
    #[oai(validator(min_length = 1, max_length = 500))]
    pub reason: String,
    /// When it ends: in the future, at most 90 days ahead.
    pub expires_at: DateTime<Utc>,
}

/// What a test message got back.
#[derive(Object, Debug)]
#[oai(rename_all = "camelCase")]
pub struct TestResult {
    /// The sink answered with a 2xx status.
    pub ok: bool,
    /// The HTTP status it answered; null when it did not answer.
    pub status: Option<u16>,
    /// Why it did not answer (never the URL).
    pub error: Option<String>,
}

/// A list of sinks.
#[derive(Object, Debug)]
pub struct SinkList {
    /// By name.
    pub items: Vec<Sink>,
}

/// A list of rules.
#[derive(Object, Debug)]
pub struct RuleList {
    /// By name.
    pub items: Vec<Rule>,
}

/// A list of mutes.
#[derive(Object, Debug)]
pub struct MuteList {
    /// Mutes in force, soonest expiry first.
    pub items: Vec<Mute>,
}

#[derive(ApiResponse)]
enum SinksResponse {
    /// The sinks.
    #[oai(status = 200)]
    Ok(Json<SinkList>),
}

#[derive(ApiResponse)]
enum SinkCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<Sink>),
}

#[derive(ApiResponse)]
enum RulesResponse {
    /// The rules.
    #[oai(status = 200)]
    Ok(Json<RuleList>),
}

#[derive(ApiResponse)]
enum RuleCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<Rule>),
}

#[derive(ApiResponse)]
enum MutesResponse {
    /// The mutes in force.
    #[oai(status = 200)]
    Ok(Json<MuteList>),
}

#[derive(ApiResponse)]
enum MuteCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<Mute>),
}

#[derive(ApiResponse)]
enum TestResponse {
    /// Sent; what the sink answered (or why it did not).
    #[oai(status = 200)]
    Ok(Json<TestResult>),
}

#[derive(ApiResponse)]
enum Gone {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

impl ConditionName {
    fn condition(self) -> crate::notify::Condition {
        use crate::notify::Condition as C;
        match self {
            ConditionName::Failed => C::Failed,
            ConditionName::Stalled => C::Stalled,
            ConditionName::StillFailed => C::StillFailed,
            ConditionName::Recovered => C::Recovered,
            ConditionName::ClusterUnreachable => C::ClusterUnreachable,
            ConditionName::ClusterDegraded => C::ClusterDegraded,
            ConditionName::ClusterRecovered => C::ClusterRecovered,
        }
    }
}

fn sink_input(body: CreateSink, actor: &str) -> NewSinkInput {
    NewSinkInput {
        name: body.name,
        kind: match body.kind {
            SinkType::Webhook => SinkKind::Webhook,
            SinkType::Alertmanager => SinkKind::Alertmanager,
            SinkType::Slack => SinkKind::Slack,
            SinkType::Teams => SinkKind::Teams,
        },
        url: body.url,
        secret: body.secret,
        allow_insecure: body.allow_insecure,
        actor: actor.to_string(),
    }
}

fn rule_row(body: &CreateRule, actor: &str) -> RuleRow {
    RuleRow {
        id: Uuid::new_v4(),
        name: body.name.clone(),
        sink_id: body.sink_id,
        filter: serde_json::Value::Null,
        condition: body.condition.condition().as_str().to_string(),
        after_minutes: body.after_minutes,
        group_window_secs: body.group_window_secs.unwrap_or(30),
        enabled: body.enabled.unwrap_or(true),
        created_by: actor.to_string(),
        created_at: Utc::now(),
    }
}

/// Notification endpoints.
pub struct NotificationsApi;

#[OpenApi(prefix_path = "/api/v1/notifications", tag = "ApiTags::Notifications")]
impl NotificationsApi {
    /// List notification sinks
    ///
    /// URLs and secrets are never returned; `endpoint` shows scheme, host and port.
    #[oai(
        path = "/sinks",
        method = "get",
        operation_id = "listNotificationSinks"
    )]
    async fn list_sinks(&self, state: Data<&Arc<AppState>>) -> Result<SinksResponse, ApiError> {
        let items = state.notify.list_sinks().await?;
        let items = items.into_iter().map(Sink::from).collect();
        Ok(SinksResponse::Ok(Json(SinkList { items })))
    }

    /// Create a notification sink
    ///
    /// The URL must be https:// (plain http:// only with `allowInsecure`) and its host an
    /// address the outbound address policy allows. URL and secret are stored encrypted.
    #[oai(
        path = "/sinks",
        method = "post",
        operation_id = "createNotificationSink"
    )]
    async fn create_sink(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        audit: Data<&Audit>,
        body: Json<CreateSink>,
    ) -> Result<SinkCreated, ApiError> {
        audit.object(format!("sink/{}", body.0.name));
        let row = state
            .notify
            .create_sink(sink_input(body.0, &principal.subject))
            .await?;
        Ok(SinkCreated::Created(Json(row.into())))
    }

    /// Delete a notification sink
    ///
    /// Refused (409) while rules send to it.
    #[oai(
        path = "/sinks/:id",
        method = "delete",
        operation_id = "deleteNotificationSink"
    )]
    async fn delete_sink(
        &self,
        state: Data<&Arc<AppState>>,
        audit: Data<&Audit>,
        id: Path<Uuid>,
    ) -> Result<Gone, ApiError> {
        let row = state.notify.delete_sink(id.0).await?;
        audit.object(format!("sink/{}", row.name));
        Ok(Gone::NoContent)
    }

    /// Send a test message to a sink
    ///
    /// Webhooks get a signed `{"type": "test", …}` body; Alertmanager an alert `FluxoTest`
    /// that resolves itself five minutes later. The answer says what the sink replied.
    #[oai(
        path = "/sinks/:id/test",
        method = "post",
        operation_id = "testNotificationSink"
    )]
    async fn test_sink(
        &self,
        state: Data<&Arc<AppState>>,
        audit: Data<&Audit>,
        id: Path<Uuid>,
    ) -> Result<TestResponse, ApiError> {
        let (row, outcome) = state.notify.test_sink(id.0).await?;
        audit.object(format!("sink/{}", row.name));
        let result = match outcome {
            Ok(status) => TestResult {
                ok: (200..300).contains(&status),
                status: Some(status),
                error: None,
            },
            Err(error) => TestResult {
                ok: false,
                status: None,
                error: Some(error),
            },
        };
        Ok(TestResponse::Ok(Json(result)))
    }

    /// List notification rules
    #[oai(
        path = "/rules",
        method = "get",
        operation_id = "listNotificationRules"
    )]
    async fn list_rules(&self, state: Data<&Arc<AppState>>) -> Result<RulesResponse, ApiError> {
        let items = state.notify.list_rules().await?;
        let items = items.into_iter().map(Rule::from).collect();
        Ok(RulesResponse::Ok(Json(RuleList { items })))
    }

    /// Create a notification rule
    ///
    /// The filter uses the stream's filter language (kinds by kind, plural or short name).
    #[oai(
        path = "/rules",
        method = "post",
        operation_id = "createNotificationRule"
    )]
    async fn create_rule(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        audit: Data<&Audit>,
        body: Json<CreateRule>,
    ) -> Result<RuleCreated, ApiError> {
        audit.object(format!("rule/{}", body.0.name));
        let row = rule_row(&body.0, &principal.subject);
        let filter = body.0.filter.unwrap_or_default().into();
        let row = state.notify.create_rule(row, filter).await?;
        Ok(RuleCreated::Created(Json(row.into())))
    }

    /// Delete a notification rule
    ///
    /// Its mutes go with it.
    #[oai(
        path = "/rules/:id",
        method = "delete",
        operation_id = "deleteNotificationRule"
    )]
    async fn delete_rule(
        &self,
        state: Data<&Arc<AppState>>,
        audit: Data<&Audit>,
        id: Path<Uuid>,
    ) -> Result<Gone, ApiError> {
        let row = state.notify.delete_rule(id.0).await?;
        audit.object(format!("rule/{}", row.name));
        Ok(Gone::NoContent)
    }

    /// List the mutes in force
    #[oai(
        path = "/mutes",
        method = "get",
        operation_id = "listNotificationMutes"
    )]
    async fn list_mutes(&self, state: Data<&Arc<AppState>>) -> Result<MutesResponse, ApiError> {
        let items = state.notify.list_mutes().await?;
        let items = items.into_iter().map(Mute::from).collect();
        Ok(MutesResponse::Ok(Json(MuteList { items })))
    }

    /// Mute notifications until a time
    #[oai(
        path = "/mutes",
        method = "post",
        operation_id = "createNotificationMute"
    )]
    async fn create_mute(
        &self,
        state: Data<&Arc<AppState>>,
        principal: Data<&Principal>,
        body: Json<CreateMute>,
    ) -> Result<MuteCreated, ApiError> {
        let body = body.0;
        let row = MuteRow {
            id: Uuid::new_v4(),
            rule_id: body.rule_id,
            filter: serde_json::Value::Null,
            reason: body.reason,
            expires_at: body.expires_at,
            created_by: principal.subject.clone(),
            created_at: Utc::now(),
        };
        let filter = body.filter.unwrap_or_default().into();
        let row = state.notify.create_mute(row, filter).await?;
        Ok(MuteCreated::Created(Json(row.into())))
    }

    /// End a mute now
    ///
    /// The mute stays recorded with its new expiry.
    #[oai(
        path = "/mutes/:id",
        method = "delete",
        operation_id = "expireNotificationMute"
    )]
    async fn expire_mute(
        &self,
        state: Data<&Arc<AppState>>,
        id: Path<Uuid>,
    ) -> Result<Gone, ApiError> {
        state.notify.expire_mute(id.0).await?;
        Ok(Gone::NoContent)
    }
}
