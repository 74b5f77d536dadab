//! A Rust client for the flux-orchestrator API, generated at build time by progenitor from the
//! committed spec (`openapi/openapi.json`): `Client::new(base_url)` or
//! `Client::new_with_client(base_url, reqwest_client)`, one builder method per operation (named
//! after its `operationId` in snake case), and the spec's schemas in [`types`].

#![allow(clippy::all, missing_docs, unused_imports, unreachable_pub)]

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));
