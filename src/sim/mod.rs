//! Kubernetes API simulator: list/watch/patch with real protocol semantics for Flux kinds,
//! scenarios and fault injection. Used by tests, benchmarks and `make demo`; never by production paths.

pub mod catalog;
pub mod meta;
pub mod selector;
pub mod status;
pub mod store;

pub use catalog::FluxFlavor;
pub use status::ApiError;
pub mod cli;
pub use cli::{SimArgs, run};
