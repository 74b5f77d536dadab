//! The database pools' series at `/metrics`, read at each scrape from the pools themselves
//! ([`super::pools`]) and, with a read standby, where API reads go ([`super::standby`]).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

use super::pools::MeasuredPool;
use super::standby::Standby;

/// The pools' series, read at each scrape: their size and queue come from the pools
/// themselves, so they are never stale. With a standby, also where API reads go.
#[derive(Clone)]
pub struct PoolCollector {
    /// Every pool, the standby's included.
    pub(super) pools: Vec<MeasuredPool>,
    /// The standby, when one is configured.
    pub(super) standby: Option<Standby>,
}

impl std::fmt::Debug for PoolCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.pools.iter().map(|p| p.name).collect();
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
        let Some(first) = self.pools.first() else {
            return Ok(());
        };
        let mut family = encoder.encode_descriptor(name, help, None, value(first).metric_type())?;
        for pool in &self.pools {
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
        self.family(e, FAILED, |p| p.counters.failed.clone())?;
        match &self.standby {
            Some(standby) => standby.encode(e),
            None => Ok(()),
        }
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
