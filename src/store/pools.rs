//! The two connection pools and what they measure: how often callers took a connection, how
//! long they waited for it, and how often they gave up; exported at `/metrics` through a
//! `prometheus-client` collector, so a saturated pool shows before requests fail.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use deadpool_postgres::{
    ClientWrapper, Hook, HookError, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
    Timeouts,
};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::tls::DbTls;
use super::{Error, Result};
use crate::config::DbConfig;

/// A pool and its counters. Cheap to clone.
#[derive(Clone)]
pub struct MeasuredPool {
    /// `main` or `api`: the `pool` label of its metrics.
    name: &'static str,
    pool: Pool,
    /// Written by every `get`, read by `/metrics`.
    counters: Counters,
}

#[derive(Debug, Clone, Default)]
struct Counters {
    /// Connections handed out.
    acquired: Counter,
    /// Time callers waited for a connection (including opening one), in seconds.
    waited: Counter<f64, AtomicU64>,
    /// Callers that got no connection (timeout or database unreachable).
    failed: Counter,
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

/// The pools' series, read at each scrape: their size and queue come from the pools
/// themselves, so they are never stale.
#[derive(Clone)]
pub struct PoolCollector(pub Vec<MeasuredPool>);

impl std::fmt::Debug for PoolCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.0.iter().map(|p| p.name).collect();
        f.debug_tuple("PoolCollector").field(&names).finish()
    }
}

/// The `pool` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabel {
    pool: &'static str,
}

impl PoolCollector {
    /// One family: `value` of each pool as a `metric`.
    fn family<M: EncodeMetric>(
        &self,
        encoder: &mut DescriptorEncoder,
        (name, help): (&str, &str),
        value: impl Fn(&MeasuredPool) -> M,
    ) -> std::fmt::Result {
        let Some(first) = self.0.first() else {
            return Ok(());
        };
        let mut family = encoder.encode_descriptor(name, help, None, value(first).metric_type())?;
        for pool in &self.0 {
            let label = PoolLabel { pool: pool.name };
            value(pool).encode(family.encode_family(&label)?)?;
        }
        Ok(())
    }
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let e = &mut encoder;
        let size = |p: &MeasuredPool| p.pool.status();
        // Pool sizes are far below i64::MAX.
        let gauge = |n: usize| ConstGauge::new(n as i64);
        self.family(e, CONNECTIONS, |p| gauge(size(p).size))?;
        self.family(e, MAX_CONNECTIONS, |p| gauge(size(p).max_size))?;
        self.family(e, WAITING, |p| gauge(size(p).waiting))?;
        self.family(e, ACQUIRED, |p| p.counters.acquired.clone())?;
        self.family(e, WAITED, |p| p.counters.waited.clone())?;
        self.family(e, FAILED, |p| p.counters.failed.clone())
    }
}

// Names as the crate wants them (a counter's `_total` is added when written).
const CONNECTIONS: (&str, &str) = (
    "fluxo_db_pool_connections",
    "Open connections of each database pool.",
);
const MAX_CONNECTIONS: (&str, &str) = (
    "fluxo_db_pool_max_connections",
    "Size limit of each database pool.",
);
const WAITING: (&str, &str) = (
    "fluxo_db_pool_waiting",
    "Callers waiting for a connection now.",
);
const ACQUIRED: (&str, &str) = ("fluxo_db_pool_acquired", "Connections handed out.");
const WAITED: (&str, &str) = (
    "fluxo_db_pool_wait_seconds",
    "Time spent waiting for a connection (opening one included).",
);
const FAILED: (&str, &str) = (
    "fluxo_db_pool_failed",
    "Callers that got no connection (pool busy or database down).",
);

/// The main pool: the writer, ingest, registry, authentication. No statement timeout.
pub fn main_pool(
    pg: &tokio_postgres::Config,
    tls: &DbTls,
    config: &DbConfig,
) -> Result<MeasuredPool> {
    build("main", pg, tls, config, config.db_pool_size, None)
}

/// The API read pool: every new connection first sets its `statement_timeout` (a session
/// setting, so it also holds behind a session-mode pooler, where startup options may not).
pub fn api_pool(
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
    build("api", pg, tls, config, config.db_api_pool_size, hook)
}

fn build(
    name: &'static str,
    pg: &tokio_postgres::Config,
    tls: &DbTls,
    config: &DbConfig,
    size: usize,
    setup: Option<Hook>,
) -> Result<MeasuredPool> {
    let manager = Manager::from_config(
        pg.clone(),
        tls.clone(),
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
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
        name,
        pool: builder.build()?,
        counters: Counters::default(),
    })
}
