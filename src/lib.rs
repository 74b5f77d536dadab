//! flux-orchestrator: watch and operate Flux CD across many Kubernetes clusters, live.
//!
//! # Layout
//! | module     | owns |
//! |------------|------|
//! | [`cli`]    | command line (clap): `serve`, `migrate`, `openapi`, `sim` |
//! | [`config`] | the one typed [`config::Config`] read from flags and `FLUXO_*` env |
//! | [`app`]    | start-up order, spawning and joining long-lived tasks, graceful shutdown |
//! | [`flux`]   | knowledge of Flux: kinds catalogue, health from conditions, revisions, action patches (pure) |
//! | [`store`]  | all SQL: pool, migrations from `sql/`, typed queries |
//! | [`clusters`] | kubeconfig parsing and policy, credential encryption, building kube clients |
//! | [`api`]    | REST handlers (poem-openapi), error mapping, health endpoints |
//! | [`sim`]    | Kubernetes API simulator used by tests, benchmarks and the demo |

pub mod flux;
pub mod sim;
