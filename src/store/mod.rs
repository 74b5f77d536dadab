//! All SQL: the connection pool, migrations from `sql/`, and typed queries.
//! Nothing here knows HTTP or Kubernetes.

mod audit;
mod auth;
mod changes;
mod claims;
mod clusters;
mod migrate;
pub mod queries;
mod resources;
mod status;
mod versions;
mod writer;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::NoTls;

pub use audit::{AuditEntry, AuditFilter};
pub use auth::{EnvToken, NewSession, NewToken, SessionRow, TokenRow};
pub use changes::{ChangeRow, LogBounds, Pruned, log_bounds, read_changes};
pub use claims::{Claims, Notice};
pub use clusters::{
    CLUSTERS_CHANNEL, ClusterRow, ClusterUpdate, Connection, NewCluster, SYNC_CHANNEL,
};
pub use migrate::{MIGRATIONS, Migration};
pub use resources::{
    BatchOutcome, CHANGES_CHANNEL, LOG_LOCK, RESOURCE_COLUMNS, ResourceKey, ResourceRow, WriteOp,
    coalesce, content_hash, resource_id,
};
pub use status::{CLUSTER_STATUS_CHANNEL, ClusterStatusRow, STATUS_COLUMNS, StatusUpdate};

use crate::config::DbConfig;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configured database URL could not be parsed.
    #[error("invalid database URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// The pool could not be built.
    #[error("cannot build connection pool: {0}")]
    Build(#[from] deadpool_postgres::BuildError),
    /// No connection could be had from the pool (database down or pool exhausted).
    #[error("database unavailable: {0}")]
    Unavailable(#[from] deadpool_postgres::PoolError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] tokio_postgres::Error),
    /// A row with the same unique key exists.
    #[error("{0} already exists")]
    Conflict(String),
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
}

impl Error {
    /// True when the error means the database is unreachable rather than a bad query.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Unavailable(_) => true,
            Error::Query(e) => e.is_closed() || e.code().is_none(),
            _ => false,
        }
    }
}

/// Result type of the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Handle to PostgreSQL: a pool of connections. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// For connections outside the pool (LISTEN, session advisory locks).
    pg: tokio_postgres::Config,
}

impl Store {
    /// Build a pool for `config`. Connects lazily: this succeeds while the database is down.
    pub fn connect(config: &DbConfig) -> Result<Store> {
        let mut pg: tokio_postgres::Config = config.database_url.parse().map_err(Error::Url)?;
        pg.connect_timeout(config.timeout());
        if pg.get_application_name().is_none() {
            pg.application_name("flux-orchestrator");
        }
        let manager = Manager::from_config(
            pg.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let timeouts = Timeouts {
            wait: Some(config.timeout()),
            create: Some(config.timeout()),
            recycle: Some(Duration::from_secs(2)),
        };
        let pool = Pool::builder(manager)
            .max_size(config.db_pool_size.max(1))
            .timeouts(timeouts)
            .runtime(Runtime::Tokio1)
            .build()?;
        Ok(Store { pool, pg })
    }

    /// A connection of its own, outside the pool, for LISTEN or session-level advisory locks
    /// that must live exactly as long as the connection. The caller drives `connection`.
    pub async fn dedicated(
        &self,
    ) -> Result<(
        tokio_postgres::Client,
        tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
    )> {
        Ok(self.pg.connect(NoTls).await?)
    }

    /// A pooled connection.
    pub async fn conn(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
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
