//! The connection pools and what they measure: how often callers took a connection, how
//! long they waited for it, and how often they gave up; exported at `/metrics` by
//! [`super::pool_metrics`], so a saturated pool shows before requests fail. Every
//! connection names its [`Role`] in `application_name`, so `pg_stat_activity` shows who holds
//! which.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use deadpool_postgres::{
    ClientWrapper, Hook, HookError, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
    Timeouts,
};

use prometheus_client::metrics::counter::Counter;

use super::tls::DbTls;
use super::{Error, Result};
use crate::config::{DEDICATED_CONNECTIONS, DbConfig};

/// Who uses a connection: the suffix of its `application_name` (`flux-orchestrator/main`, or
/// the URL's own `application_name` followed by `/main`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The main pool.
    Main,
    /// The API read pool on the primary.
    Api,
    /// The API read pool on the standby.
    Read,
    /// The live fan-out's LISTEN connection (`live::listener`).
    Listener,
    /// The cluster claims' advisory locks and LISTEN (`ingest::manager`).
    Claims,
    /// The notification engine's leader lock and LISTEN (`notify::engine`).
    NotifyEngine,
}

impl Role {
    /// The connections a replica opens outside its pools, one each: `config`'s count of them
    /// is checked against this list when compiling.
    pub const DEDICATED: [Role; 3] = [Role::Listener, Role::Claims, Role::NotifyEngine];

    /// The `application_name` suffix.
    pub fn name(self) -> &'static str {
        match self {
            Role::Main => "main",
            Role::Api => "api",
            Role::Read => "read",
            Role::Listener => "listener",
            Role::Claims => "claims",
            Role::NotifyEngine => "notify-engine",
        }
    }

    /// `pg` with this role in its `application_name`.
    pub fn apply(self, pg: &tokio_postgres::Config) -> tokio_postgres::Config {
        let mut pg = pg.clone();
        let base = pg.get_application_name().unwrap_or("flux-orchestrator");
        let name = format!("{base}/{}", self.name());
        pg.application_name(&name);
        pg
    }
}

// A new dedicated connection must be counted in the connection budget.
const _: () = assert!(Role::DEDICATED.len() == DEDICATED_CONNECTIONS);

/// A pool and its counters. Cheap to clone.
#[derive(Clone)]
pub struct MeasuredPool {
    /// `main`, `api` or `read`: the `pool` label of its metrics.
    pub(super) name: &'static str,
    pub(super) pool: Pool,
    /// Written by every `get`, read by `/metrics`.
    pub(super) counters: Counters,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Counters {
    /// Connections handed out.
    pub(super) acquired: Counter,
    /// Time callers waited for a connection (including opening one), in seconds.
    pub(super) waited: Counter<f64, AtomicU64>,
    /// Callers that got no connection (timeout or database unreachable).
    pub(super) failed: Counter,
}

impl MeasuredPool {
    /// A pooled connection.
    pub async fn get(&self) -> Result<Object> {
        let start = Instant::now();
        let got = self.pool.get().await;
        let counters = &self.counters;
        counters.waited.inc_by(start.elapsed().as_secs_f64());
        match got {
            Ok(conn) => {
                counters.acquired.inc();
                Ok(conn)
            }
            Err(e) => {
                counters.failed.inc();
                Err(Error::Unavailable(e))
            }
        }
    }
}

/// The main pool: the writer, ingest, registry, authentication. No statement timeout.
pub fn main_pool(
    pg: &tokio_postgres::Config,
    tls: &DbTls,
    config: &DbConfig,
) -> Result<MeasuredPool> {
    let size = config.db_pool_size;
    build(
        Role::Main,
        pg,
        tls,
        config,
        size,
        None,
        RecyclingMethod::Fast,
    )
}

/// The API read pool, on the primary (`Role::Api`) or the standby (`Role::Read`): every new
/// connection first sets its `statement_timeout` (a session setting, so it also holds behind
/// a session-mode pooler, where startup options may not). The standby's connections are
/// checked with a round trip before each use, so a standby that went away is noticed when a
/// connection is taken, not halfway through a request (see `standby`).
pub fn api_pool(
    role: Role,
    pg: &tokio_postgres::Config,
    tls: &DbTls,
    config: &DbConfig,
) -> Result<MeasuredPool> {
    let ms = config.db_api_statement_timeout_ms;
    let hook = (ms > 0).then(|| {
        let sql = format!("SET statement_timeout = {ms}");
        Hook::async_fn(move |client: &mut ClientWrapper, _| {
            let sql = sql.clone();
            Box::pin(async move {
                client
                    .simple_query(&sql)
                    .await
                    .map(|_| ())
                    .map_err(HookError::Backend)
            })
        })
    });
    let recycling = match role {
        Role::Read => RecyclingMethod::Verified,
        _ => RecyclingMethod::Fast,
    };
    let size = config.db_api_pool_size;
    build(role, pg, tls, config, size, hook, recycling)
}

fn build(
    role: Role,
    pg: &tokio_postgres::Config,
    tls: &DbTls,
    config: &DbConfig,
    size: usize,
    setup: Option<Hook>,
    recycling_method: RecyclingMethod,
) -> Result<MeasuredPool> {
    let manager = Manager::from_config(
        role.apply(pg),
        tls.clone(),
        ManagerConfig { recycling_method },
    );
    let timeouts = Timeouts {
        wait: Some(config.timeout()),
        create: Some(config.timeout()),
        recycle: Some(Duration::from_secs(2)),
    };
    let mut builder = Pool::builder(manager)
        .max_size(size.max(1))
        .timeouts(timeouts)
        .runtime(Runtime::Tokio1);
    if let Some(hook) = setup {
        builder = builder.post_create(hook);
    }
    Ok(MeasuredPool {
        name: role.name(),
        pool: builder.build()?,
        counters: Counters::default(),
    })
}
