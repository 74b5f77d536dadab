//! Notification configuration (`notify_sinks`, `notify_rules`, `notify_mutes`): rows as the
//! API writes them. Validation is the caller's (`notify`); this file only stores and reads.
//! Sink credentials are stored sealed and read back only by [`Store::sink_credentials`].

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::{Error, Result, Store};

/// A sink as listed: never its credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRow {
    /// Stable id.
    pub id: Uuid,
    /// Unique name.
    pub name: String,
    /// `webhook` or `alertmanager`.
    pub kind: String,
    /// `scheme://host[:port]` of its URL.
    pub endpoint: String,
    /// Plain http:// was allowed.
    pub insecure: bool,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A sink to insert, its credentials already sealed.
#[derive(Debug, Clone)]
pub struct NewSink {
    /// The listed part (`created_at` is ignored: the database sets it).
    pub row: SinkRow,
    /// Sealed credentials.
    pub credentials: Vec<u8>,
}

/// A notification rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    /// Stable id.
    pub id: Uuid,
    /// Unique name.
    pub name: String,
    /// Where its messages go.
    pub sink_id: Uuid,
    /// The validated filter as JSON.
    pub filter: serde_json::Value,
    /// The condition's word.
    pub condition: String,
    /// Minutes for `stillFailed`.
    pub after_minutes: Option<i32>,
    /// Grouping window.
    pub group_window_secs: i32,
    /// Off: kept, not evaluated.
    pub enabled: bool,
    /// Who created it.
    pub created_by: String,
    /// When (ignored on insert).
    pub created_at: DateTime<Utc>,
}

/// A mute.
#[derive(Debug, Clone, PartialEq)]
pub struct MuteRow {
    /// Stable id.
    pub id: Uuid,
    /// The rule it mutes; null: every rule.
    pub rule_id: Option<Uuid>,
    /// The validated filter as JSON.
    pub filter: serde_json::Value,
    /// Why.
    pub reason: String,
    /// When it stops muting.
    pub expires_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// When (ignored on insert).
    pub created_at: DateTime<Utc>,
}

const SINK_COLUMNS: &str = "id, name, kind, endpoint, insecure, created_by, created_at";
const RULE_COLUMNS: &str = "id, name, sink_id, filter, condition, after_minutes, \
                            group_window_secs, enabled, created_by, created_at";
const MUTE_COLUMNS: &str = "id, rule_id, filter, reason, expires_at, created_by, created_at";

fn sink(row: &Row) -> SinkRow {
    SinkRow {
        id: row.get(0),
        name: row.get(1),
        kind: row.get(2),
        endpoint: row.get(3),
        insecure: row.get(4),
        created_by: row.get(5),
        created_at: row.get(6),
    }
}

fn rule(row: &Row) -> RuleRow {
    RuleRow {
        id: row.get(0),
        name: row.get(1),
        sink_id: row.get(2),
        filter: row.get(3),
        condition: row.get(4),
        after_minutes: row.get(5),
        group_window_secs: row.get(6),
        enabled: row.get(7),
        created_by: row.get(8),
        created_at: row.get(9),
    }
}

fn mute(row: &Row) -> MuteRow {
    MuteRow {
        id: row.get(0),
        rule_id: row.get(1),
        filter: row.get(2),
        reason: row.get(3),
        expires_at: row.get(4),
        created_by: row.get(5),
        created_at: row.get(6),
    }
}

/// A unique violation names what exists; a foreign-key violation becomes `reference`'s error.
fn mapped(what: String, reference: fn() -> Error) -> impl FnOnce(tokio_postgres::Error) -> Error {
    move |e| match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => Error::Conflict(what),
        Some(c) if *c == SqlState::FOREIGN_KEY_VIOLATION => reference(),
        _ => Error::Query(e),
    }
}

fn no_sink() -> Error {
    Error::Missing("sinkId: no such sink".into())
}

fn no_rule() -> Error {
    Error::Missing("ruleId: no such rule".into())
}

fn sink_in_use() -> Error {
    Error::InUse("rules still send to this sink: delete them first".into())
}

impl Store {
    /// Insert a sink; [`Error::Conflict`] if the name is taken.
    pub async fn insert_sink(&self, s: &NewSink) -> Result<SinkRow> {
        let conn = self.conn().await?;
        let sql = format!(
            "INSERT INTO notify_sinks (id, name, kind, endpoint, insecure, credentials, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {SINK_COLUMNS}"
        );
        let r = &s.row;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
            &r.id,
            &r.name,
            &r.kind,
            &r.endpoint,
            &r.insecure,
            &s.credentials,
            &r.created_by,
        ];
        let row = conn
            .query_one(&sql, &params)
            .await
            .map_err(mapped(format!("a sink named {:?}", r.name), no_sink))?;
        Ok(sink(&row))
    }

    /// Every sink, by name.
    pub async fn list_sinks(&self) -> Result<Vec<SinkRow>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {SINK_COLUMNS} FROM notify_sinks ORDER BY name");
        Ok(conn.query(&sql, &[]).await?.iter().map(sink).collect())
    }

    /// One sink and its sealed credentials.
    pub async fn sink_credentials(&self, id: Uuid) -> Result<Option<(SinkRow, Vec<u8>)>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {SINK_COLUMNS}, credentials FROM notify_sinks WHERE id = $1");
        let row = conn.query_opt(&sql, &[&id]).await?;
        Ok(row.map(|r| (sink(&r), r.get(7))))
    }

    /// Delete a sink; [`Error::InUse`] while rules still send to it.
    pub async fn delete_sink(&self, id: Uuid) -> Result<Option<SinkRow>> {
        let conn = self.conn().await?;
        let sql = format!("DELETE FROM notify_sinks WHERE id = $1 RETURNING {SINK_COLUMNS}");
        let row = conn
            .query_opt(&sql, &[&id])
            .await
            .map_err(mapped(String::new(), sink_in_use))?;
        Ok(row.as_ref().map(sink))
    }

    /// Insert a rule; [`Error::Conflict`] if the name is taken, [`Error::Missing`] if
    /// its sink does not exist.
    pub async fn insert_rule(&self, r: &RuleRow) -> Result<RuleRow> {
        let conn = self.conn().await?;
        let sql = format!(
            "INSERT INTO notify_rules (id, name, sink_id, filter, condition, after_minutes, \
             group_window_secs, enabled, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING {RULE_COLUMNS}"
        );
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 9] = [
            &r.id,
            &r.name,
            &r.sink_id,
            &r.filter,
            &r.condition,
            &r.after_minutes,
            &r.group_window_secs,
            &r.enabled,
            &r.created_by,
        ];
        let row = conn
            .query_one(&sql, &params)
            .await
            .map_err(mapped(format!("a rule named {:?}", r.name), no_sink))?;
        Ok(rule(&row))
    }

    /// Every rule, by name.
    pub async fn list_rules(&self) -> Result<Vec<RuleRow>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {RULE_COLUMNS} FROM notify_rules ORDER BY name");
        Ok(conn.query(&sql, &[]).await?.iter().map(rule).collect())
    }

    /// Delete a rule (and its mutes).
    pub async fn delete_rule(&self, id: Uuid) -> Result<Option<RuleRow>> {
        let conn = self.conn().await?;
        let sql = format!("DELETE FROM notify_rules WHERE id = $1 RETURNING {RULE_COLUMNS}");
        Ok(conn.query_opt(&sql, &[&id]).await?.as_ref().map(rule))
    }

    /// Insert a mute; [`Error::Missing`] if its rule does not exist.
    pub async fn insert_mute(&self, m: &MuteRow) -> Result<MuteRow> {
        let conn = self.conn().await?;
        let sql = format!(
            "INSERT INTO notify_mutes (id, rule_id, filter, reason, expires_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {MUTE_COLUMNS}"
        );
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
            &m.id,
            &m.rule_id,
            &m.filter,
            &m.reason,
            &m.expires_at,
            &m.created_by,
        ];
        let row = conn
            .query_one(&sql, &params)
            .await
            .map_err(mapped(String::new(), no_rule))?;
        Ok(mute(&row))
    }

    /// Mutes still in force, soonest expiry first.
    pub async fn list_mutes(&self) -> Result<Vec<MuteRow>> {
        let conn = self.conn().await?;
        let sql = format!(
            "SELECT {MUTE_COLUMNS} FROM notify_mutes WHERE expires_at > now() ORDER BY expires_at, id"
        );
        Ok(conn.query(&sql, &[]).await?.iter().map(mute).collect())
    }

    /// End a mute now (the row stays as a record); `None` if unknown or already expired.
    pub async fn expire_mute(&self, id: Uuid) -> Result<Option<MuteRow>> {
        let conn = self.conn().await?;
        let sql = format!(
            "UPDATE notify_mutes SET expires_at = now() WHERE id = $1 AND expires_at > now() \
             RETURNING {MUTE_COLUMNS}"
        );
        Ok(conn.query_opt(&sql, &[&id]).await?.as_ref().map(mute))
    }
}
