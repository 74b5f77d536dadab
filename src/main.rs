/// mimalloc instead of glibc's malloc: relisting a large fleet spent about half the server's CPU
/// in glibc's allocator, and glibc kept the memory of the initial sync's peak (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    flux_orchestrator::cli::main()
}
