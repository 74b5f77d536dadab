//! Reliability figures from the fleet's history (issue 17, part 3): how long objects stay
//! failed or stalled, how often they fail, how fast they recover, how much they flap.
//!
//! | module | owns |
//! | --- | --- |
//! | `figures` | the interval arithmetic: an object's figures over a span from its state and its health changes (pure) |
//! | `report` | derived figures (availability, MTTR, flapping), groups and offender ranking (pure) |
//! | `rollups` | the job: closes UTC days into daily roll-ups, backfills, prunes (one replica at a time) |
//! | `window` | a window's figures on read: closed days' roll-ups plus the open days from the change log |
//!
//! The SQL is `store::reliability`, which states the roll-up protocol.

pub mod figures;
pub mod report;
pub mod rollups;
pub mod window;

use std::time::Duration;

use crate::config::ReliabilityConfig;

/// How the roll-up job runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Days of roll-ups kept.
    pub retention_days: u32,
    /// How long after midnight UTC a day is closed (late commits stamped within the day).
    pub grace: Duration,
    /// Time between runs.
    pub interval: Duration,
}

impl Settings {
    /// The job's settings from the configuration (a retention of 0 is taken as 1 day).
    pub fn from_config(c: &ReliabilityConfig) -> Settings {
        Settings {
            retention_days: c.reliability_retention_days.max(1),
            grace: Duration::from_secs(c.reliability_grace_secs),
            interval: Duration::from_secs(c.reliability_interval_secs.max(1)),
        }
    }
}
