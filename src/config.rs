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

    /// Maximum number of pooled connections for API reads (resource lists, history, events,
    /// stats), apart from the pool of ingest and writes, so UI traffic cannot starve ingest.
    #[arg(long, env = "FLUXO_DB_API_POOL_SIZE", default_value_t = 8)]
    pub db_api_pool_size: usize,

    /// Milliseconds one API read statement may run before PostgreSQL cancels it (the request
    /// gets 503 `query_timeout`); 0: no limit.
    #[arg(
        long,
        env = "FLUXO_DB_API_STATEMENT_TIMEOUT_MS",
        default_value_t = 5_000
    )]
    pub db_api_statement_timeout_ms: u64,

    /// PEM file with the CA certificate(s) that sign PostgreSQL's server certificate (like
    /// `sslrootcert` in the URL). Set `sslmode=verify-full` in DATABASE_URL to check it.
    #[arg(long, env = "FLUXO_DB_CA_FILE")]
    pub db_ca_file: Option<PathBuf>,

    /// PostgreSQL hot standby for API reads (resource lists, details, history, timeline, graph,
    /// stats, audit log), e.g. postgres://user:pass@standby:5432/fluxo; same TLS settings as
    /// DATABASE_URL. Writes, LISTEN, claims, the stream's catch-up and migrations stay on the
    /// primary; reads go to the primary while the standby is unreachable. Unset: all on the
    /// primary.
    #[arg(long, env = "FLUXO_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,

    /// Most PostgreSQL connections this replica may open to one server (pools at full size
    /// plus its dedicated connections, see docs/operating.md); start-up fails when the
    /// configuration exceeds it. 0: no check.
    #[arg(long, env = "FLUXO_DB_CONNECTION_BUDGET", default_value_t = 32)]
    pub db_connection_budget: usize,
}

impl DbConfig {
    /// The pool and connect timeout as a [`Duration`].
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.db_timeout_secs.max(1))
    }

    /// The most connections this replica opens to the primary and to the standby: see
    /// [`ConnectionBudget`].
    pub fn connections(&self) -> ConnectionBudget {
        // A pool of size 0 is built with one connection (`store::pools`).
        let (main, api) = (self.db_pool_size.max(1), self.db_api_pool_size.max(1));
        ConnectionBudget {
            primary: main + api + DEDICATED_CONNECTIONS,
            standby: if self.read_database_url.is_some() {
                api
            } else {
                0
            },
        }
    }

    /// Fail when the pools at full size and the dedicated connections exceed
    /// `db_connection_budget` on either server (0: no check).
    pub fn check_connection_budget(&self) -> Result<ConnectionBudget, String> {
        let need = self.connections();
        let budget = self.db_connection_budget;
        if budget == 0 {
            return Ok(need);
        }
        for (server, n) in [("primary", need.primary), ("standby", need.standby)] {
            if n > budget {
                return Err(format!(
                    "this replica may open {n} connections to the {server} database \
                     (FLUXO_DB_POOL_SIZE {} + FLUXO_DB_API_POOL_SIZE {} + {DEDICATED_CONNECTIONS} dedicated; \
                     the standby gets only the API pool), more than FLUXO_DB_CONNECTION_BUDGET {budget}: \
                     lower the pool sizes, or raise the budget after checking that every replica fits \
                     the server's max_connections (docs/operating.md, \"Connection budget\")",
                    self.db_pool_size.max(1),
                    self.db_api_pool_size.max(1),
                ));
            }
        }
        Ok(need)
    }
}

/// Connections a replica keeps outside its pools, one each (`store::Role::DEDICATED`): the
/// live listener, the claims connection, the notification engine's lock.
pub const DEDICATED_CONNECTIONS: usize = 3;

/// The most PostgreSQL connections one replica opens, per server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionBudget {
    /// Main pool + API pool + dedicated connections.
    pub primary: usize,
    /// The read pool (0 without a standby).
    pub standby: usize,
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

    #[command(flatten)]
    pub net: NetConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub ingest: IngestConfig,

    #[command(flatten)]
    pub egress: EgressConfig,

    #[command(flatten)]
    pub live: LiveConfig,

    #[command(flatten)]
    pub notify: NotifyConfig,

    #[command(flatten)]
    pub reliability: ReliabilityConfig,
}

/// Connection limits of the HTTP server and the proxies it trusts (`net`).
#[derive(clap::Args, Debug, Clone)]
pub struct NetConfig {
    /// Most open client connections, WebSocket streams included; more are closed at accept.
    #[arg(long, env = "FLUXO_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Most open connections from one client address; more are closed at accept. Trusted
    /// proxies are exempt (they carry many clients).
    #[arg(long, env = "FLUXO_MAX_CONNECTIONS_PER_IP", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_ip: u32,

    /// Seconds a client may take to send a request's head (line and headers), counted from
    /// accept or from the first byte of a later request; slower clients are disconnected.
    #[arg(long, env = "FLUXO_HEADER_READ_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: u64,

    /// Seconds a keep-alive connection may wait for its next request before it is closed
    /// (WebSocket streams are not affected).
    #[arg(long, env = "FLUXO_IDLE_TIMEOUT_SECS", default_value_t = 75,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout_secs: u64,

    /// Reverse proxies whose `X-Forwarded-For` names the client (audit log, login rate limit),
    /// comma-separated addresses or CIDR ranges, e.g. `10.0.0.0/8`. Default none: the header
    /// is ignored.
    #[arg(long, env = "FLUXO_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
}

/// How clusters are watched.
#[derive(clap::Args, Debug, Clone)]
pub struct IngestConfig {
    /// Seconds between backstop relists of every watched kind (corrects drift; 0 disables).
    #[arg(long, env = "FLUXO_RESYNC_INTERVAL_SECS", default_value_t = 600)]
    pub resync_interval_secs: u64,

    /// Server-side timeout of each watch request, in seconds (at most 60), so a silently dead
    /// connection is noticed within a minute.
    #[arg(long, env = "FLUXO_WATCH_TIMEOUT_SECS", default_value_t = 55,
          value_parser = clap::value_parser!(u32).range(1..=60))]
    pub watch_timeout_secs: u32,

    /// Read timeout of Kubernetes API requests, in seconds; a hung apiserver fails after this.
    /// Must be longer than the watch timeout.
    #[arg(long, env = "FLUXO_KUBE_READ_TIMEOUT_SECS", default_value_t = 75)]
    pub kube_read_timeout_secs: u64,

    /// Seconds between re-discoveries of served Flux kinds (CRDs installed later are picked up).
    #[arg(long, env = "FLUXO_REDISCOVER_INTERVAL_SECS", default_value_t = 300)]
    pub rediscover_interval_secs: u64,

    /// Seconds between replica heartbeats and cluster claim checks (takeover time after a crash
    /// is about three of these).
    #[arg(long, env = "FLUXO_CLAIM_INTERVAL_SECS", default_value_t = 2)]
    pub claim_interval_secs: u64,

    /// This replica's id, for cluster claims and status (default: host name and a random suffix).
    #[arg(long, env = "FLUXO_REPLICA_ID")]
    pub replica_id: Option<String>,

    /// The host name (set by Kubernetes in every pod), the default replica id's prefix.
    #[arg(long, env = "HOSTNAME", hide = true, default_value = "replica")]
    pub hostname: String,

    /// Capacity of the queue between watchers and the database writer (back-pressure beyond it).
    #[arg(long, env = "FLUXO_WRITER_QUEUE", default_value_t = 10_000)]
    pub writer_queue: usize,

    /// Most changes written in one transaction.
    #[arg(long, env = "FLUXO_WRITER_BATCH", default_value_t = 1_000)]
    pub writer_batch: usize,

    /// Most full LISTs (initial lists, relists) in flight at once across all clusters. Each
    /// holds a page of parsed objects in memory, so this bounds the memory peak of syncing a
    /// fleet; watches are not limited.
    #[arg(long, env = "FLUXO_MAX_CONCURRENT_LISTS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_concurrent_lists: u32,

    /// Seconds between liveness probes (`GET /version`) of each watched cluster. Two probes in
    /// a row without an answer within the probe timeout mark the cluster unreachable, so a
    /// hung API server or a network black hole shows within 2 × (interval + timeout).
    #[arg(long, env = "FLUXO_PROBE_INTERVAL_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub probe_interval_secs: u64,

    /// Seconds a liveness probe may take before it counts as unanswered.
    #[arg(long, env = "FLUXO_PROBE_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub probe_timeout_secs: u64,

    /// Hours the controllers' events are kept (Kubernetes itself keeps them for one).
    #[arg(long, env = "FLUXO_EVENTS_RETENTION_HOURS", default_value_t = 720)]
    pub events_retention_hours: u64,

    /// Kinds of the objects Flux applies to watch on every cluster (selected by Flux's
    /// ownership labels), comma-separated kinds or plurals; empty turns workload watching off.
    /// A cluster can opt out on its own (`watchWorkloads`).
    #[arg(
        long,
        env = "FLUXO_WORKLOAD_KINDS",
        value_delimiter = ',',
        default_value = "Deployment,StatefulSet,DaemonSet,Job,CronJob,Service,Ingress,PersistentVolumeClaim"
    )]
    pub workload_kinds: Vec<String>,
}

/// Which addresses the server may connect to on users' behalf (cluster apiservers). Metadata,
/// link-local, unspecified, multicast and broadcast addresses are always refused (see
/// `egress`); these lists tighten that.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct EgressConfig {
    /// Networks outbound connections may reach, comma-separated (CIDRs or addresses); when
    /// set, only these. Default: any address not refused.
    #[arg(long, env = "FLUXO_EGRESS_ALLOW", value_delimiter = ',')]
    pub egress_allow: Vec<String>,

    /// Networks outbound connections must never reach, comma-separated (CIDRs or addresses);
    /// wins over the allow list.
    #[arg(long, env = "FLUXO_EGRESS_DENY", value_delimiter = ',')]
    pub egress_deny: Vec<String>,
}

/// The notification engine (`notify::engine`).
#[derive(clap::Args, Debug, Clone)]
pub struct NotifyConfig {
    /// Days the notification delivery log keeps sent and failed deliveries.
    #[arg(long, env = "FLUXO_NOTIFY_RETENTION_DAYS", default_value_t = 30)]
    pub notify_retention_days: u64,

    /// Deliveries in flight per sink (a slow sink holds at most this many sends).
    #[arg(long, env = "FLUXO_NOTIFY_PER_SINK", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub notify_per_sink: u16,

    /// Tests only: seconds in a `stillFailed` rule's minute.
    #[arg(long, env = "FLUXO_NOTIFY_MINUTE_SECS", default_value_t = 60, hide = true,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    pub notify_minute_secs: u64,
}

/// Live fan-out over `GET /api/v1/stream` and retention of the change log.
#[derive(clap::Args, Debug, Clone)]
pub struct LiveConfig {
    /// Milliseconds between heartbeat messages (and WebSocket pings) on each stream connection.
    #[arg(long, env = "FLUXO_STREAM_HEARTBEAT_MS", default_value_t = 15_000)]
    pub stream_heartbeat_ms: u64,

    /// Milliseconds a stream client may stay silent (not even a pong) before it is disconnected.
    #[arg(long, env = "FLUXO_STREAM_IDLE_TIMEOUT_MS", default_value_t = 45_000)]
    pub stream_idle_timeout_ms: u64,

    /// Milliseconds one frame may take to reach a stream client's socket; a client that stops
    /// reading for longer is cut off.
    #[arg(long, env = "FLUXO_STREAM_SEND_TIMEOUT_MS", default_value_t = 10_000)]
    pub stream_send_timeout_ms: u64,

    /// How many published changes a stream client may fall behind before it is told to resync
    /// (the capacity of the shared broadcast ring).
    #[arg(long, env = "FLUXO_STREAM_QUEUE", default_value_t = 4096)]
    pub stream_queue: usize,

    /// Milliseconds between safety-net reads of the change log when no NOTIFY arrives.
    #[arg(long, env = "FLUXO_STREAM_POLL_MS", default_value_t = 1_000)]
    pub stream_poll_ms: u64,

    /// Most changes one subscription may replay; a `since` further behind gets `resync`.
    #[arg(long, env = "FLUXO_STREAM_MAX_REPLAY", default_value_t = 100_000)]
    pub stream_max_replay: i64,

    /// Hours the change log keeps changes (replay and history reach back this far); 0 keeps
    /// them regardless of age.
    #[arg(long, env = "FLUXO_CHANGES_RETENTION_HOURS", default_value_t = 168)]
    pub changes_retention_hours: u64,

    /// Most changes the change log keeps, newest first; 0 keeps any number.
    #[arg(
        long,
        env = "FLUXO_CHANGES_RETENTION_COUNT",
        default_value_t = 1_000_000
    )]
    pub changes_retention_count: i64,

    /// Seconds between retention runs.
    #[arg(long, env = "FLUXO_CHANGES_PRUNE_INTERVAL_SECS", default_value_t = 60)]
    pub changes_prune_interval_secs: u64,

    /// Most streams one credential (token, session user) may hold open at once; more are
    /// refused with 429 (0: no limit). Each browser tab holds one.
    #[arg(long, env = "FLUXO_STREAM_MAX_PER_PRINCIPAL", default_value_t = 32)]
    pub stream_max_per_principal: usize,

    /// Most `subscribe` messages one stream connection may send per minute; more close it
    /// with 1008 (0: no limit). Each re-reads the change log from its `since`.
    #[arg(long, env = "FLUXO_STREAM_SUBSCRIBES_PER_MINUTE", default_value_t = 60)]
    pub stream_subscribes_per_minute: u32,
}

/// Whether requests must authenticate.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// API tokens, sessions and (when configured) OIDC: the default.
    #[default]
    Token,
    /// No authentication: everyone is an admin. Refused unless listening on loopback.
    None,
}

/// Reliability roll-ups (`history`): daily figures kept beyond the change log's retention.
#[derive(clap::Args, Debug, Clone)]
pub struct ReliabilityConfig {
    /// Days the daily reliability roll-ups are kept (0 is taken as 1).
    #[arg(long, env = "FLUXO_RELIABILITY_RETENTION_DAYS", default_value_t = 400)]
    pub reliability_retention_days: u32,

    /// Seconds after midnight UTC before a day's roll-ups are written, so that changes stamped
    /// late in the day have committed.
    #[arg(long, env = "FLUXO_RELIABILITY_GRACE_SECS", default_value_t = 300)]
    pub reliability_grace_secs: u64,

    /// Seconds between runs of the roll-up job (closing days, pruning).
    #[arg(long, env = "FLUXO_RELIABILITY_INTERVAL_SECS", default_value_t = 300)]
    pub reliability_interval_secs: u64,
}

/// Authentication, sessions, OIDC and browser-facing hardening (`auth`, `api::auth`).
#[derive(clap::Args, Debug, Clone)]
pub struct AuthConfig {
    /// `token` (default) or `none` (no authentication; only on a loopback address, for demos).
    #[arg(long = "auth", env = "FLUXO_AUTH", value_enum, default_value_t = AuthMode::Token)]
    pub mode: AuthMode,

    /// Bootstrap admin API token (at least 32 characters, e.g. `openssl rand -base64 32`). Without it, an admin token is
    /// generated at the first start and printed once.
    #[arg(long, env = "FLUXO_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Seconds a browser session lasts.
    #[arg(long, env = "FLUXO_SESSION_TTL_SECS", default_value_t = 12 * 3600)]
    pub session_ttl_secs: u64,

    /// The URL browsers use, e.g. https://flux.example.com (Origin checks, OIDC redirects).
    #[arg(long, env = "FLUXO_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Mark the session cookie Secure. Default: true when the public URL is https.
    #[arg(long, env = "FLUXO_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,

    /// Origins allowed to call the API from another site (CORS), comma-separated; default none.
    #[arg(long, env = "FLUXO_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Login attempts allowed per client address per minute (0: unlimited).
    #[arg(long, env = "FLUXO_LOGIN_RATE_LIMIT", default_value_t = 10)]
    pub login_rate_limit: u32,

    /// Days the audit log keeps entries (export older ones first: GET /api/v1/audit/export).
    #[arg(long, env = "FLUXO_AUDIT_RETENTION_DAYS", default_value_t = 400)]
    pub audit_retention_days: u64,

    /// Failed credential lookups (unknown API tokens or session cookies) allowed per client
    /// address per minute; beyond it the address gets 429 until the minute ends (0: unlimited).
    #[arg(long, env = "FLUXO_AUTH_FAILURE_LIMIT", default_value_t = 30)]
    pub auth_failure_limit: u32,

    /// OIDC issuer URL; enables OIDC login.
    #[arg(long, env = "FLUXO_OIDC_ISSUER", requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,

    /// OIDC client id.
    #[arg(long, env = "FLUXO_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// OIDC client secret (none: a public client, PKCE only).
    #[arg(long, env = "FLUXO_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,

    /// Scopes requested at login, space-separated.
    #[arg(
        long,
        env = "FLUXO_OIDC_SCOPES",
        default_value = "openid profile email groups"
    )]
    pub oidc_scopes: String,

    /// ID token claim listing the user's groups.
    #[arg(long, env = "FLUXO_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,

    /// Groups to roles, e.g. `platform=admin,sre=operator,*=viewer` (the highest match wins;
    /// `*` is anyone the issuer logs in). A user matching nothing cannot log in.
    #[arg(long, env = "FLUXO_OIDC_ROLES", default_value = "")]
    pub oidc_roles: String,
}

impl AuthConfig {
    /// How long audit entries are kept.
    pub fn audit_retention(&self) -> Duration {
        Duration::from_secs(self.audit_retention_days.max(1).saturating_mul(86_400))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Db {
        #[command(flatten)]
        db: DbConfig,
    }

    fn db(args: &[&str]) -> DbConfig {
        let mut argv = vec!["fluxo", "--database-url", "postgres://u@db/fluxo"];
        argv.extend(args);
        Db::parse_from(argv).db
    }

    /// PostgreSQL's default `max_connections` less its default `superuser_reserved_connections`.
    const DEFAULT_USABLE: usize = 100 - 3;

    #[test]
    fn three_replicas_with_the_default_settings_fit_a_default_postgresql() {
        let need = db(&[]).check_connection_budget().unwrap();
        assert_eq!(
            need,
            ConnectionBudget {
                primary: 16 + 8 + 3,
                standby: 0
            }
        );
        assert!(3 * need.primary <= DEFAULT_USABLE, "{need:?}");
        // The default budget itself leaves room for three replicas.
        assert!(3 * db(&[]).db_connection_budget <= DEFAULT_USABLE);
    }

    #[test]
    fn a_standby_takes_the_api_pool_and_the_primary_keeps_its_connections_for_the_fallback() {
        let need = db(&["--read-database-url", "postgres://u@standby/fluxo"]).connections();
        assert_eq!(
            need,
            ConnectionBudget {
                primary: 27,
                standby: 8
            }
        );
    }

    #[test]
    fn pools_larger_than_the_budget_refuse_to_start_and_say_which_setting() {
        let err = db(&["--db-pool-size", "40"])
            .check_connection_budget()
            .unwrap_err();
        assert!(err.contains("51 connections to the primary"), "{err}");
        assert!(err.contains("FLUXO_DB_CONNECTION_BUDGET 32"), "{err}");
        let ok = db(&["--db-pool-size", "40", "--db-connection-budget", "60"]);
        assert_eq!(ok.check_connection_budget().unwrap().primary, 51);
        let off = db(&["--db-pool-size", "400", "--db-connection-budget", "0"]);
        assert!(off.check_connection_budget().is_ok());
    }
}
