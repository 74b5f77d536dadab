//! flux-orchestrator: watch and operate Flux CD across many Kubernetes clusters, live.
//!
//! # Layout
//! | module       | owns |
//! |--------------|------|
//! | [`config`]   | the one typed configuration read from flags and `FLUXO_*` env |
//! | [`app`]      | start-up order, spawning and joining long-lived tasks, graceful shutdown; `spawn_app` |
//! | [`flux`]     | knowledge of Flux: kinds catalogue, health from conditions, revisions, action patches; the domain's vocabulary (pure) |
//! | [`store`]    | all SQL: pool, migrations from `sql/`, typed queries |
//! | [`clusters`] | kubeconfig policy, credential encryption, building kube clients |
//! | [`egress`]   | the outbound address policy: which IPs the server may connect to for users (pure), and its connect-time resolver |
//! | [`ingest`]   | per-cluster supervisors, kube-runtime watchers, the batching writer |
//! | [`actions`]  | acting on Flux objects in their clusters (reconcile, suspend, resume, force, reset) |
//! | [`notify`]   | fleet notifications: sinks (credentials sealed, URLs under the address policy), rules, mutes, test sends |
//! | [`history`]  | reliability figures from the fleet's history: interval arithmetic, daily roll-ups and their job, windows on read |
//! | [`live`]     | LISTEN/NOTIFY listener, broadcast of committed changes, subscriptions with filters, replay, retention |
//! | [`metrics`]  | the server's registry (`prometheus-client`): counters, gauges, histograms, rendered for `/metrics` |
//! | [`auth`]     | roles, principals, API tokens, sessions, login rate limit, OIDC |
//! | [`api`]      | REST handlers (poem-openapi), the live stream WebSocket, error mapping, probes, docs |
//! | [`net`]      | the HTTP transport: connection caps, header and idle deadlines, trusted proxies |
//!
//! The command line (`src/cli.rs`) belongs to the binary, and so does the Kubernetes API
//! simulator its `sim` subcommand runs (the `fluxo-sim` crate, `crates/sim`): the library never
//! compiles the simulator.
//!
//! Dependencies point one way: `api` → (`clusters`, `live`, `store`) → `flux` (pure); `live`
//! reads through `store`.

pub mod actions;
pub mod api;
pub mod app;
pub mod auth;
pub mod clusters;
pub mod config;
pub mod egress;
pub mod flux;
pub mod history;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod store;
