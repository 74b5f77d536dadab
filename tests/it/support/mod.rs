//! Helpers shared by the integration tests (and, through `#[path]`, the fleet benchmark).
//!
//! | module | what |
//! |---|---|
//! | [`db`] | a fresh PostgreSQL database per test, dropped afterwards; a `Store` on it |
//! | [`app`] | the server in this process (`spawn_app`), its own runtime and log |
//! | [`process`] | the server binary as a child process; running the command line |
//! | [`endpoint`] | what both kinds of server offer: URLs, admin clients, tokens, kubeconfigs |
//! | [`logs`] | one log per in-process server under the one global tracing subscriber |
//! | [`fleet`] | simulated clusters, registration, waiting for sync and cluster states |
//! | [`stream`] | the live stream: a protocol client, Flux objects written through the writer |
//! | [`seed`] | many distinct objects and events from the Flux fixtures, for the read API |
//! | [`proxy`] | a TCP proxy that cuts the database off |
//! | [`raw`] | raw TCP clients for the transport tests; free ports |
//! | [`standby`] | a PostgreSQL primary and a hot standby of it, of one test's own |
//! | [`files`] | the repository's files, for the deployment tests |

pub mod app;
pub mod db;
pub mod endpoint;
pub mod files;
pub mod fleet;
pub mod logs;
pub mod process;
pub mod proxy;
pub mod raw;
pub mod seed;
pub mod standby;
pub mod stream;

/// Install ring as the process's rustls provider (idempotent). reqwest is built with
/// `rustls-no-provider` for the fleet CLI (`crates/cli`), and features are shared across the
/// workspace: without a process default, building a `reqwest::Client` here would panic. Called
/// wherever tests start something they talk to (a database, a server, a simulator).
pub fn install_crypto() {
    // Fails only when a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
