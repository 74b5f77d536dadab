//! The two connection pools and what they measure: how often callers took a connection, how
//! long they waited for it, and how often they gave up; rendered at `/metrics`, so a saturated
//! pool shows before requests fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool_postgres::{
    ClientWrapper, Hook, HookError, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
    Timeouts,
};

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
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    /// Connections handed out.
    acquired: AtomicU64,
    /// Time callers waited for a connection (including opening one), in microseconds.
    waited_micros: AtomicU64,
    /// Callers that got no connection (timeout or database unreachable).
    failed: AtomicU64,
}

impl MeasuredPool {
    /// A pooled connection.
    pub async fn get(&self) -> Result<Object> {
        let start = Instant::now();
        let got = self.pool.get().await;
        let waited = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let counters = &self.counters;
        counters.waited_micros.fetch_add(waited, Ordering::Relaxed);
        match got {
            Ok(conn) => {
                counters.acquired.fetch_add(1, Ordering::Relaxed);
                Ok(conn)
            }
            Err(e) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                Err(Error::Unavailable(e))
            }
        }
    }

    /// Append this pool's series in Prometheus text format (the `# HELP` lines come from
    /// [`render_help`]).
    fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let status = self.pool.status();
        let c = &self.counters;
        let name = self.name;
        let waited = c.waited_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = write!(
            out,
            "fluxo_db_pool_connections{{pool=\"{name}\"}} {}\n\
             fluxo_db_pool_max_connections{{pool=\"{name}\"}} {}\n\
             fluxo_db_pool_waiting{{pool=\"{name}\"}} {}\n\
             fluxo_db_pool_acquired_total{{pool=\"{name}\"}} {}\n\
             fluxo_db_pool_wait_seconds_total{{pool=\"{name}\"}} {waited}\n\
             fluxo_db_pool_failed_total{{pool=\"{name}\"}} {}\n",
            status.size,
            status.max_size,
            status.waiting,
            c.acquired.load(Ordering::Relaxed),
            c.failed.load(Ordering::Relaxed),
        );
    }
}

const HELP: &str = "\
# HELP fluxo_db_pool_connections Open connections of each database pool.\n\
# TYPE fluxo_db_pool_connections gauge\n\
# HELP fluxo_db_pool_max_connections Size limit of each database pool.\n\
# TYPE fluxo_db_pool_max_connections gauge\n\
# HELP fluxo_db_pool_waiting Callers waiting for a connection now.\n\
# TYPE fluxo_db_pool_waiting gauge\n\
# HELP fluxo_db_pool_acquired_total Connections handed out.\n\
# TYPE fluxo_db_pool_acquired_total counter\n\
# HELP fluxo_db_pool_wait_seconds_total Time spent waiting for a connection (opening one included).\n\
# TYPE fluxo_db_pool_wait_seconds_total counter\n\
# HELP fluxo_db_pool_failed_total Callers that got no connection (pool busy or database down).\n\
# TYPE fluxo_db_pool_failed_total counter\n";

/// Append the metrics of `pools` in Prometheus text format.
pub fn render(pools: &[&MeasuredPool], out: &mut String) {
    out.push_str(HELP);
    for pool in pools {
        pool.render(out);
    }
}

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
        counters: Arc::default(),
    })
}
