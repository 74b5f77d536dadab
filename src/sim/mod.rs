//! Kubernetes API simulator: list/watch/patch with real protocol semantics for Flux kinds,
//! scenarios and fault injection. Used by tests, benchmarks and `make demo`; never by production paths.

pub mod admin;
pub mod catalog;
pub mod churn;
pub mod cli;
pub mod cluster;
pub mod controller;
pub mod counts;
pub mod discovery;
pub mod events;
pub mod faults;
pub mod filter;
pub mod fluxreasons;
pub mod fluxspec;
pub mod fluxstatus;
pub mod handlers;
pub mod jsonpatch;
pub mod kubeconfig;
pub mod list;
pub mod meta;
pub mod objects;
pub mod openapi;
pub mod options;
pub mod reconcile;
pub mod router;
pub mod scenario;
pub mod selector;
pub mod server;
pub mod state;
pub mod status;
pub mod store;
pub mod table;
pub mod tls;
pub mod watch;

pub use catalog::FluxFlavor;
pub use churn::{ChurnHandle, ChurnOptions, spawn_churn};
pub use cli::{SimArgs, run};
pub use cluster::SimCluster;
pub use counts::{RequestCounts, Verb};
pub use faults::Faults;
pub use objects::Objects;
pub use options::{KubeconfigAuth, SimOptions};
pub use scenario::{PopulateReport, Scenario};
pub use status::ApiError;
pub use tls::ClientIdentity;
