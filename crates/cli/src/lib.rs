//! The fleet CLI: the client subcommands of the `flux-orchestrator` binary, on the client
//! `fluxo-client` generates from the spec. The binary flattens [`ClientCommand`] into its own
//! subcommands and calls [`run`], which prints errors as one line and returns the exit code.
//!
//! # Layout
//! - `args`: the command line (clap) and its examples.
//! - `config`: the saved login (0600) and how flags, environment and file combine.
//! - `api`: the generated client with the token; `error`: the one error type and exit codes.
//! - `resolve`: names, selectors and KIND/NAME/namespace/cluster to ids, all pages.
//! - `table`, `output`: tables as `flux get` prints them, JSON and YAML.
//! - `account` (login, logout, whoami), `get`, `watch` (`get -w`), `actions` (reconcile,
//!   suspend, resume), `cluster`, `cluster_add` with `manifests`, `views` (events, history, tree).

mod account;
mod actions;
mod api;
mod args;
mod cluster;
mod cluster_add;
pub mod config;
mod error;
mod get;
mod manifests;
mod output;
mod resolve;
mod table;
mod views;
mod watch;

pub use args::{ClientCommand, Conn};
pub use error::{Error, Result};

use actions::Action;
use api::Api;
use args::ClusterCommand;

/// Run a client command; print an error as one line (`error: code: message`) on stderr and
/// return the exit code: 0, 1, or 2 when the server is unreachable.
pub async fn run(command: ClientCommand) -> u8 {
    match dispatch(command).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn connect(conn: &Conn) -> Result<Api> {
    let path = config::path()?;
    let saved = match (&conn.server, &conn.token) {
        (Some(_), Some(_)) => None,
        _ => config::load(&path)?,
    };
    Api::new(config::target(
        conn.server.as_deref(),
        conn.token.as_deref(),
        saved.as_ref(),
    )?)
}

async fn dispatch(command: ClientCommand) -> Result<()> {
    match command {
        ClientCommand::Login(args) => account::login(&args).await,
        ClientCommand::Logout(conn) => account::logout(&conn),
        ClientCommand::Whoami(conn) => account::whoami(&connect(&conn)?).await,
        ClientCommand::Cluster(cmd) => cluster_command(cmd).await,
        ClientCommand::Get(args) => get::run(&connect(&args.conn)?, &args).await,
        ClientCommand::Reconcile(args) => {
            let action = Action::Reconcile {
                with_source: args.with_source,
            };
            actions::run(&connect(&args.conn)?, &args.target, action).await
        }
        ClientCommand::Suspend(args) => {
            let action = Action::Suspend {
                reason: args.reason.clone(),
            };
            actions::run(&connect(&args.conn)?, &args.target, action).await
        }
        ClientCommand::Resume(args) => {
            actions::run(&connect(&args.conn)?, &args.target, Action::Resume).await
        }
        ClientCommand::Events(args) => views::events(&connect(&args.conn)?, &args).await,
        ClientCommand::History(args) => views::history(&connect(&args.conn)?, &args).await,
        ClientCommand::Tree(args) => views::tree(&connect(&args.conn)?, &args).await,
    }
}

async fn cluster_command(command: ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Add(args) if args.dry_run => cluster_add::dry_run(&args),
        ClusterCommand::Add(args) => cluster_add::run(&connect(&args.conn)?, &args).await,
        ClusterCommand::List(args) => cluster::list(&connect(&args.conn)?, &args).await,
        ClusterCommand::Get(args) => cluster::get(&connect(&args.conn)?, &args).await,
        ClusterCommand::Rm(args) => cluster::rm(&connect(&args.conn)?, &args).await,
        ClusterCommand::Sync(args) => cluster::sync(&connect(&args.conn)?, &args).await,
    }
}
