//! Kubernetes API simulator: list/watch/patch with real protocol semantics for Flux kinds,
//! scenarios and fault injection. Used by tests, benchmarks and `make demo`; never by production paths.
