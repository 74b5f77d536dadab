//! All SQL: the connection pool, migrations from `sql/`, and typed queries.
//! Nothing here knows HTTP or Kubernetes.

mod audit;
mod auth;
mod binding;
mod changes;
mod claims;
mod clusters;
mod edges;
mod graph;
mod listen;
mod migrate;
mod notify;
mod notify_deliveries;
mod notify_engine;
mod pool_metrics;
mod pools;
pub mod queries;
pub mod reliability;
mod resources;
mod rollouts;
mod standby;
mod status;
mod target;
mod tls;
mod types;
mod versions;
mod workloads;
mod writer;

use pools::MeasuredPool;

pub use audit::{AuditEntry, AuditFilter};
pub use auth::{EnvToken, NewSession, NewToken, SessionRow, TokenRow};
pub use changes::{
    CHANGE_COLUMNS, ChangeEntry, ChangeRow, LogBounds, Pruned, log_bounds, read_changes,
};
pub use claims::Claims;
pub use clusters::{
    CLUSTERS_CHANNEL, ClusterRow, ClusterUpdate, Connection, NewCluster, SYNC_CHANNEL,
};
pub use graph::{Direction, Graph, GraphEdge, GraphNode, NodeState};
pub use listen::{Channel, Listener, Notification};
pub use migrate::{MIGRATIONS, Migration};
pub use notify::{MuteRow, NewSink, RuleRow, SinkRow};
pub use notify_deliveries::{Attempt, DeliveryFilter, DeliveryRow};
pub use notify_engine::{ClusterState, ENGINE_LOCK, EngineLock, Group, Plan, QueueItem, StateRow};
pub use pool_metrics::PoolCollector;
pub use pools::Role;
pub use resources::{
    BatchOutcome, CHANGES_CHANNEL, LOG_LOCK, RESOURCE_COLUMN_COUNT, RESOURCE_COLUMNS, ResourceKey,
    ResourceRow, WorkloadColumns, WriteOp, coalesce, content_hash, resource_id,
};
pub use rollouts::{ApplyRow, ConsumerRow, RolloutFilter, RolloutRows};
pub use status::{
    CLUSTER_STATUS_CHANNEL, ClusterStatusRow, KindWatchStatus, STATUS_COLUMNS, StatusUpdate,
};
pub use target::SslMode;
use tls::DbTls;
pub use tls::DbTlsStream;

use crate::config::DbConfig;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configured database URL could not be parsed.
    #[error("invalid database URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// The TLS settings (`sslmode`, `sslrootcert`, `FLUXO_DB_CA_FILE`) cannot be used.
    #[error("invalid database settings: {0}")]
    Settings(String),
    /// The CA file could not be read.
    #[error("cannot read the database CA file {path}: {source}")]
    CaFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The pool could not be built.
    #[error("cannot build connection pool: {0}")]
    Build(#[from] deadpool_postgres::BuildError),
    /// No connection could be had from the pool (database down or pool exhausted).
    #[error("database unavailable: {0}")]
    Unavailable(#[from] deadpool_postgres::PoolError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] tokio_postgres::Error),
    /// A stored value cannot be read: a word this binary does not know (written by a newer
    /// replica, or by hand), or JSON of another shape.
    #[error("cannot read a stored value: {0}")]
    Decode(#[source] tokio_postgres::Error),
    /// A row with the same unique key exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// A row names another that does not exist (the message names the field).
    #[error("{0}")]
    Missing(String),
    /// A row cannot be deleted while others refer to it (the message says which).
    #[error("{0}")]
    InUse(String),
    /// An applied migration no longer matches its file.
    #[error(
        "migration {version} ({name}) was changed after it was applied: checksum in database {applied}, \
         in sql/ {current}. Restore the original file and add a new migration instead"
    )]
    MigrationEdited {
        /// Migration number.
        version: i32,
        /// Migration name.
        name: String,
        /// Checksum recorded when it was applied.
        applied: String,
        /// Checksum of the file shipped now.
        current: String,
    },
    /// The database has migrations this binary does not know (a newer version ran against it).
    #[error("database is at migration {0}, newer than this binary knows ({1}); upgrade the binary")]
    MigrationUnknown(i32, i32),
    /// A listening connection ([`Listener`]) closed.
    #[error("the listening database connection closed")]
    ListenerClosed,
}

impl Error {
    /// True when the error means the database is unreachable rather than a bad query: no
    /// connection, a connection lost, a server shutting down under the statement (a standby
    /// restarted), or a standby cancelling it for a conflict with replay.
    pub fn is_unavailable(&self) -> bool {
        use tokio_postgres::error::SqlState;
        match self {
            Error::Unavailable(_) => true,
            Error::Query(e) => {
                e.is_closed()
                    || e.code().is_none_or(|code| {
                        [
                            SqlState::ADMIN_SHUTDOWN,
                            SqlState::CRASH_SHUTDOWN,
                            SqlState::T_R_SERIALIZATION_FAILURE,
                        ]
                        .contains(code)
                    })
            }
            Error::ListenerClosed => true,
            _ => false,
        }
    }

    /// True when PostgreSQL cancelled the statement (SQLSTATE 57014), which on the API pool
    /// means it ran longer than the statement timeout.
    pub fn is_query_timeout(&self) -> bool {
        matches!(self, Error::Query(e) if e.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED))
    }

    /// True when no pooled connection came free in time: the pool is busy, not the database
    /// down.
    pub fn is_pool_busy(&self) -> bool {
        matches!(
            self,
            Error::Unavailable(deadpool_postgres::PoolError::Timeout(
                deadpool_postgres::TimeoutType::Wait
            ))
        )
    }
}

/// Result type of the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Handle to PostgreSQL: two pools of connections to the primary, and one to a read standby
/// when configured. Cheap to clone.
///
/// The pools keep the callers apart: API reads, whose cost a caller chooses with filters, run on
/// `api` under a statement timeout, so however many of them run they cannot take the
/// connections the writer, ingest, authentication and the registry need. With a standby, they
/// run there instead (`standby`), on `api` while it is unreachable.
#[derive(Clone)]
pub struct Store {
    /// The writer, ingest, cluster status, registry, authentication, audit writes, retention
    /// and migrations. Cheap, bounded statements.
    pool: MeasuredPool,
    /// API reads on the primary: the stream's catch-up always, the reads of [`Store::read_conn`]
    /// without a standby or while it is down; each statement is cancelled after
    /// `FLUXO_DB_API_STATEMENT_TIMEOUT_MS`.
    api: MeasuredPool,
    /// API reads on the standby (`FLUXO_READ_DATABASE_URL`), same statement timeout: resource
    /// lists and counts, one resource, history, events, timeline, graph, stats, the audit log.
    read: Option<standby::Standby>,
    /// For connections outside the pools (LISTEN, session advisory locks).
    pg: tokio_postgres::Config,
    /// The TLS connector of every connection.
    tls: DbTls,
    /// The `sslmode` in force, for the start-up log.
    mode: SslMode,
}

/// The standby's pool: `url` parsed like DATABASE_URL (the same `FLUXO_DB_CA_FILE`), the
/// API pool's size, statement timeout and connect timeout.
fn read_pool(url: &str, config: &DbConfig) -> Result<MeasuredPool> {
    // Say which URL is wrong; the message never repeats the URL (it may hold a password).
    let target = target::parse(url, config.db_ca_file.as_deref())
        .map_err(|e| Error::Settings(format!("FLUXO_READ_DATABASE_URL: {e}")))?;
    let mut pg = target.pg;
    pg.connect_timeout(config.timeout());
    if pg.get_application_name().is_none() {
        pg.application_name("flux-orchestrator");
    }
    pools::api_pool(Role::Read, &pg, &target.tls, config)
}

/// A dedicated connection's driver; the caller polls it.
pub type DbConnection = tokio_postgres::Connection<tokio_postgres::Socket, tls::DbTlsStream>;

impl Store {
    /// Build the pools for `config`. Connects lazily: this succeeds while the database is down,
    /// but not with unusable TLS settings (a bad `sslmode`, an unreadable CA file).
    pub fn connect(config: &DbConfig) -> Result<Store> {
        let target = target::parse(&config.database_url, config.db_ca_file.as_deref())?;
        let mut pg = target.pg;
        pg.connect_timeout(config.timeout());
        if pg.get_application_name().is_none() {
            pg.application_name("flux-orchestrator");
        }
        let pool = pools::main_pool(&pg, &target.tls, config)?;
        let api = pools::api_pool(Role::Api, &pg, &target.tls, config)?;
        let read = match &config.read_database_url {
            Some(url) => Some(standby::Standby::new(read_pool(url, config)?)),
            None => None,
        };
        Ok(Store {
            pool,
            api,
            read,
            pg,
            tls: target.tls,
            mode: target.mode,
        })
    }

    /// The `sslmode` the connections use.
    pub fn ssl_mode(&self) -> SslMode {
        self.mode
    }

    /// Whether API reads go to a standby (`FLUXO_READ_DATABASE_URL`).
    pub fn has_standby(&self) -> bool {
        self.read.is_some()
    }

    /// A connection of its own, outside the pools, for LISTEN or session-level advisory locks
    /// that must live exactly as long as the connection; `role` must be one of
    /// [`Role::DEDICATED`] (the connection budget counts them). The caller drives `connection`.
    pub async fn dedicated(&self, role: Role) -> Result<(tokio_postgres::Client, DbConnection)> {
        debug_assert!(Role::DEDICATED.contains(&role));
        Ok(role.apply(&self.pg).connect(self.tls.clone()).await?)
    }

    /// A connection from the main pool.
    pub async fn conn(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await
    }

    /// A connection from the primary's API read pool (statements time out), for reads that
    /// must see what the primary has committed: the stream's catch-up.
    async fn api_conn(&self) -> Result<deadpool_postgres::Object> {
        self.api.get().await
    }

    /// A connection for an API read (statements time out): to the standby when one is
    /// configured and reachable, else to the primary (see `standby`). What it reads may lag
    /// the primary.
    async fn read_conn(&self) -> Result<deadpool_postgres::Object> {
        if let Some(standby) = &self.read
            && let Some(conn) = standby.get().await
        {
            return Ok(conn);
        }
        self.api.get().await
    }

    /// The pools' series (size, queue, waits, failures) and the standby's (whether reads go
    /// to it) for the metrics registry.
    pub fn pool_metrics(&self) -> PoolCollector {
        let mut pools = vec![self.pool.clone(), self.api.clone()];
        pools.extend(self.read.iter().map(|s| s.pool().clone()));
        PoolCollector {
            pools,
            standby: self.read.clone(),
        }
    }

    /// Apply pending migrations (see [`migrate`]).
    pub async fn migrate(&self) -> Result<usize> {
        let mut conn = self.conn().await?;
        migrate::run(&mut conn).await
    }

    /// Round trip to the database; used by `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        let conn = self.conn().await?;
        conn.simple_query("SELECT 1").await?;
        Ok(())
    }
}
