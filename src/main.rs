//! The `flux-orchestrator` binary: parses the command line ([`cli`]) and hands over to the
//! library; the `sim` subcommand runs the simulator crate (`fluxo-sim`), the client
//! subcommands (`login`, `get`, `reconcile`, …) the fleet CLI crate (`fluxo-cli`).

mod cli;

/// mimalloc instead of glibc's malloc: relisting a large fleet spent about half the server's CPU
/// in glibc's allocator, and glibc kept the memory of the initial sync's peak (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
