//! The one typed configuration, read from flags and `FLUXO_*` / `DATABASE_URL` environment
//! variables by clap. No other module reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach PostgreSQL; shared by every subcommand that touches the database.
#[derive(clap::Args, Debug, Clone)]
pub struct DbConfig {
    /// PostgreSQL connection URL, e.g. postgres://user:pass@127.0.0.1:5432/fluxo.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// Maximum number of pooled PostgreSQL connections.
    #[arg(long, env = "FLUXO_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,

    /// Seconds to wait for a PostgreSQL connection before a request fails with 503.
    #[arg(long, env = "FLUXO_DB_TIMEOUT_SECS", default_value_t = 5)]
    pub db_timeout_secs: u64,
}

impl DbConfig {
    /// The pool and connect timeout as a [`Duration`].
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.db_timeout_secs.max(1))
    }
}

/// Log line format.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Settings shared by every subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct LogConfig {
    /// Log format.
    #[arg(long, env = "FLUXO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Log filter in tracing's EnvFilter syntax, e.g. `info,flux_orchestrator=debug`.
    #[arg(long, env = "FLUXO_LOG", default_value = "info", global = true)]
    pub log: String,
}

/// Everything `flux-orchestrator serve` needs.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on. Only loopback by default: expose it deliberately.
    #[arg(long, env = "FLUXO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub db: DbConfig,

    /// Key that encrypts cluster credentials at rest: 32 bytes, base64. Required unless
    /// --dev-secret-key-file is given.
    #[arg(long, env = "FLUXO_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Development only: read the credential key from this file, creating it (mode 0600) with a
    /// random key if absent. Used by `make demo`; never use it in production.
    #[arg(long, env = "FLUXO_DEV_SECRET_KEY_FILE", conflicts_with = "secret_key")]
    pub dev_secret_key_file: Option<PathBuf>,

    /// Register the cluster this pod runs in (service account credentials) as `in-cluster`.
    #[arg(long, env = "FLUXO_IN_CLUSTER")]
    pub in_cluster: bool,

    /// Largest accepted request body, in bytes; larger bodies get 413.
    #[arg(long, env = "FLUXO_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    #[arg(long, env = "FLUXO_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
}
