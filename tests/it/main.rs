//! The integration tests: one binary (linking the server once, not once per file), one module
//! per area, the helpers in [`support`]. Servers run in this process on port 0
//! (`support::app::TestServer`, `flux_orchestrator::app::spawn_app`), each on a fresh
//! PostgreSQL database of its own (`support::db::TestDb`, DATABASE_URL names the server), next
//! to simulated clusters (`fluxo_sim`); the server binary runs as a child process only where a
//! real process is the point (`support::process`).

mod support;

mod actions;
mod api_docs;
mod api_fuzz;
mod auth;
mod auth_matrix;
mod cli;
mod cli_client;
mod clients;
mod clusters_api;
mod database;
mod database_pools;
mod database_tls;
mod deploy_compose;
mod deploy_dockerfile;
mod deploy_manifests;
mod discovered_kinds;
mod egress;
mod graph;
mod ha;
mod hardening;
mod ingest;
mod login_page;
mod metrics;
mod net_limits;
mod notify;
mod notify_schema;
mod oidc_login;
mod openapi_drift;
mod reliability;
mod resources_api;
mod rollouts;
mod sim_faults;
mod sim_flux;
mod sim_kubectl;
mod sim_protocol;
mod sim_workloads;
mod standby;
mod stream_basic;
mod stream_faults;
mod timeline;
mod validation;
mod versions;
mod workloads;
