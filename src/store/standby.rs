//! API reads from a PostgreSQL hot standby (`FLUXO_READ_DATABASE_URL`), and the fallback to
//! the primary while the standby is unreachable.
//!
//! Protocol:
//! - A read first asks the standby's pool for a connection. While the standby serves, every
//!   read does; its connections are checked with a round trip before each use (`pools`), so a
//!   standby that went away fails here, before any query.
//! - When that fails (the connection is refused or times out, or the pool stays busy for the
//!   pool timeout), the read goes to the primary's API pool instead, never failing for the
//!   standby's sake, and the standby is marked down: one warning per outage.
//! - While it is down, reads go straight to the primary; one read per [`RETRY`] tries the
//!   standby again. The first that gets a connection ends the outage: one info line, and
//!   reads go to the standby again.
//! - A standby lags the primary: what a read returns may be older than what the live stream
//!   has delivered. Resource lists say which change-log position they reflect (read on the
//!   same server, before the rows), so a client can tell.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use deadpool_postgres::Object;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::pools::MeasuredPool;

/// How long reads stay on the primary after the standby failed before one tries it again.
pub const RETRY: Duration = Duration::from_secs(2);

/// The standby's pool and whether it serves. Cheap to clone.
#[derive(Clone)]
pub struct Standby {
    pool: MeasuredPool,
    health: Arc<Health>,
}

#[derive(Default)]
struct Health {
    /// Since when the standby is down (`Some`: reads go to the primary), moved forward each time
    /// a read is let through to try it again. Written and read by every read; read by
    /// `/metrics`.
    down: Mutex<Option<Instant>>,
    /// Reads sent to the primary because the standby was down. Written by reads, read by
    /// `/metrics`.
    fallbacks: Counter<u64, AtomicU64>,
}

impl Standby {
    /// Reads through `pool` (the standby's).
    pub fn new(pool: MeasuredPool) -> Standby {
        Standby {
            pool,
            health: Arc::default(),
        }
    }

    /// The standby's pool, for its metrics.
    pub fn pool(&self) -> &MeasuredPool {
        &self.pool
    }

    /// A connection to the standby, or `None`: read from the primary now.
    pub async fn get(&self) -> Option<Object> {
        if !self.due() {
            self.health.fallbacks.inc();
            return None;
        }
        match self.pool.get().await {
            Ok(conn) => {
                self.recovered();
                Some(conn)
            }
            Err(e) => {
                self.failed(&e);
                self.health.fallbacks.inc();
                None
            }
        }
    }

    /// Whether this read should try the standby: it serves, or it has been down for [`RETRY`]
    /// (then this read is the one that tries, and the others wait another [`RETRY`]).
    fn due(&self) -> bool {
        let mut down = self.lock();
        match *down {
            None => true,
            Some(since) if since.elapsed() >= RETRY => {
                *down = Some(Instant::now());
                true
            }
            Some(_) => false,
        }
    }

    fn failed(&self, error: &super::Error) {
        let mut down = self.lock();
        if down.is_none() {
            let error: &dyn std::error::Error = error;
            tracing::warn!(
                error,
                "the read standby is unreachable: API reads go to the primary until it answers"
            );
        }
        *down = Some(Instant::now());
    }

    fn recovered(&self) {
        let mut down = self.lock();
        if down.take().is_some() {
            tracing::info!("the read standby answers again: API reads go to it");
        }
    }

    /// Whether reads go to the standby now.
    pub fn serving(&self) -> bool {
        self.lock().is_none()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // The guarded value is a plain timestamp, valid even if a holder panicked.
        self.health
            .down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The standby's series: whether reads go to it, and how many went to the primary.
    pub fn encode(&self, encoder: &mut DescriptorEncoder) -> std::fmt::Result {
        let serving = ConstGauge::new(i64::from(self.serving()));
        let (name, help) = SERVING;
        let family = encoder.encode_descriptor(name, help, None, serving.metric_type())?;
        serving.encode(family)?;
        let fallbacks = &self.health.fallbacks;
        let (name, help) = FALLBACKS;
        let family = encoder.encode_descriptor(name, help, None, fallbacks.metric_type())?;
        fallbacks.encode(family)
    }
}

const SERVING: (&str, &str) = (
    "fluxo_db_reads_on_standby",
    "1 while API reads go to the read standby, 0 while they go to the primary (standby down).",
);
const FALLBACKS: (&str, &str) = (
    "fluxo_db_standby_fallback_reads",
    "API reads sent to the primary because the read standby was unreachable.",
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DbConfig;

    fn standby() -> Standby {
        // Port 1 on loopback: nothing listens, connections are refused at once.
        let config = DbConfig {
            database_url: "postgres://u@127.0.0.1:1/db".into(),
            db_pool_size: 1,
            db_timeout_secs: 1,
            db_api_pool_size: 1,
            db_api_statement_timeout_ms: 0,
            db_ca_file: None,
            read_database_url: None,
            db_connection_budget: 0,
        };
        let target = super::super::target::parse(&config.database_url, None).unwrap();
        let role = super::super::pools::Role::Read;
        Standby::new(super::super::pools::api_pool(role, &target.pg, &target.tls, &config).unwrap())
    }

    #[tokio::test]
    async fn an_unreachable_standby_sends_reads_to_the_primary_and_is_tried_again_after_the_retry_delay()
     {
        let s = standby();
        assert!(s.serving());
        assert!(s.get().await.is_none(), "connection refused");
        assert!(!s.serving());
        // Within RETRY, reads do not even try.
        assert!(!s.due());
        // After RETRY, exactly one read tries again.
        *s.lock() = Some(Instant::now() - RETRY);
        assert!(s.due());
        assert!(!s.due());
        s.recovered();
        assert!(s.serving());
        assert_eq!(s.health.fallbacks.get(), 1);
    }
}
