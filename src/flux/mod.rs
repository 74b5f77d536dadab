//! Knowledge of Flux: the kinds catalogue, health from conditions, revisions, action patches.
//! Pure functions only: no IO, no tokio, no SQL, no HTTP.
