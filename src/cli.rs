//! The command line: parses arguments and hands over to the library's `app` (server
//! subcommands), to the simulator crate (`sim`) or to the fleet CLI crate (`fluxo-cli`: login,
//! cluster, get, reconcile, …). No business logic here.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

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
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  flux-orchestrator completion bash > /etc/bash_completion.d/flux-orchestrator\n  flux-orchestrator completion zsh > \"${fpath[1]}/_flux-orchestrator\"\n  flux-orchestrator completion fish > ~/.config/fish/completions/flux-orchestrator.fish"
    )]
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    #[command(flatten)]
    Client(fluxo_cli::ClientCommand),
}

/// Parse the process arguments and run the chosen subcommand to completion. Server
/// subcommands end like `main` returning an error did before (`Error: …`, exit code 1);
/// client subcommands print one line and exit 1, or 2 when the server is unreachable.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    flux_orchestrator::app::init_tracing(&cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return failed(e.into()),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(config) => flux_orchestrator::app::serve(*config).await,
            Command::Migrate(db) => flux_orchestrator::app::migrate(&db).await,
            Command::Openapi => print_spec(),
            Command::Sim(args) => fluxo_sim::run(args).await,
            Command::Completion { shell } => {
                let mut command = Cli::command();
                clap_complete::generate(
                    shell,
                    &mut command,
                    "flux-orchestrator",
                    &mut std::io::stdout(),
                );
                Ok(())
            }
            Command::Client(command) => return Ok(ExitCode::from(fluxo_cli::run(command).await)),
        }
        .map(|()| ExitCode::SUCCESS)
    });
    result.unwrap_or_else(failed)
}

/// How `fn main() -> anyhow::Result<()>` reports an error: `Error: ` and the chain, code 1.
fn failed(e: anyhow::Error) -> ExitCode {
    eprintln!("Error: {e:?}");
    ExitCode::FAILURE
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
