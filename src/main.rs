fn main() -> anyhow::Result<()> {
    flux_orchestrator::cli::main()
}
