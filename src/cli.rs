//! The command line: parses arguments and hands over to the library's `app` (or, for `sim`, to
//! the simulator crate). No business logic here.

use clap::{Parser, Subcommand};

use flux_orchestrator::config::{DbConfig, LogConfig, ServeConfig};

/// flux-orchestrator: watch and operate Flux CD across many Kubernetes clusters, live.
#[derive(Parser, Debug)]
#[command(name = "flux-orchestrator", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogConfig,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: REST API, live stream and web UI.
    Serve(Box<ServeConfig>),
    /// Apply pending database migrations, then exit.
    Migrate(DbConfig),
    /// Print the OpenAPI specification (JSON) to stdout.
    Openapi,
    /// Run simulated Kubernetes API servers with Flux objects (for demos and tests).
    Sim(fluxo_sim::SimArgs),
}

/// Parse the process arguments and run the chosen subcommand to completion.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    flux_orchestrator::app::init_tracing(&cli.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(config) => flux_orchestrator::app::serve(*config).await,
            Command::Migrate(db) => flux_orchestrator::app::migrate(&db).await,
            Command::Openapi => print_spec(),
            Command::Sim(args) => fluxo_sim::run(args).await,
        }
    })
}

/// Print the spec. A reader that stops early (`openapi | head -c 200`) closes the pipe: that
/// is the reader's choice, not our failure, so a broken pipe ends the command quietly
/// (`println!` would panic on it).
fn print_spec() -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(flux_orchestrator::api::spec_json().as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
