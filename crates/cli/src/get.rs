//! `get [KIND] [NAME]`: the fleet-wide list, its output formats and the `--fail-on` gate.

use fluxo_client::types::{Health, ResourceSummary};

use super::api::Api;
use super::args::{FailOn, GetArgs, Output};
use super::error::{Error, Result};
use super::output::{print, resource_table, structured};
use super::resolve::{self, Query};

/// The list query of a `get` command line.
pub async fn query(api: &Api, args: &GetArgs) -> Result<Query> {
    Ok(Query {
        clusters: resolve::cluster_filter(api, &args.filters).await?,
        kinds: args
            .kind
            .iter()
            .filter(|k| !k.eq_ignore_ascii_case("all"))
            .cloned()
            .collect(),
        namespaces: args.filters.namespaces.clone(),
        health: resolve::healths(&args.health)?,
        labels: None,
        name: args.name.clone(),
    })
}

/// Run `get`.
pub async fn run(api: &Api, args: &GetArgs) -> Result<()> {
    let query = query(api, args).await?;
    if args.watch {
        return super::watch::run(api, &query, args.output).await;
    }
    let items = resolve::list(api, &query).await?;
    show(&items, args.output)?;
    match args.fail_on {
        Some(gate) => gate_result(&items, gate),
        None => Ok(()),
    }
}

/// Print a list in the chosen format.
pub fn show(items: &[ResourceSummary], output: Output) -> Result<()> {
    match output {
        Output::Table | Output::Wide if items.is_empty() => {
            super::output::progress("no Flux objects found");
            Ok(())
        }
        Output::Table => print(&resource_table(items, false).render()),
        Output::Wide => print(&resource_table(items, true).render()),
        Output::Json | Output::Yaml => structured(&items, output),
    }
}

/// Whether `health` trips the gate.
pub fn trips(gate: FailOn, health: Health) -> bool {
    match gate {
        FailOn::Failed => matches!(health, Health::Failed | Health::Stalled),
        FailOn::NotReady => !matches!(health, Health::Ready | Health::Suspended),
    }
}

/// The `--fail-on` verdict over a list.
pub fn gate_result(items: &[ResourceSummary], gate: FailOn) -> Result<()> {
    let tripped: Vec<String> = items
        .iter()
        .filter(|r| trips(gate, r.health))
        .map(resolve::describe)
        .collect();
    if tripped.is_empty() {
        return Ok(());
    }
    let what = match gate {
        FailOn::Failed => "failed",
        FailOn::NotReady => "not ready",
    };
    Err(Error::Failed(format!(
        "{} {what}: {}",
        tripped.len(),
        tripped.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::tests::summary;

    #[test]
    fn the_gate_trips_on_failures_only_unless_asked_for_readiness() {
        let mut failed = summary("prod", "apps");
        failed.health = Health::Failed;
        let mut progressing = summary("prod", "infra");
        progressing.health = Health::Progressing;
        let mut suspended = summary("prod", "old");
        suspended.health = Health::Suspended;
        let items = vec![failed, progressing, suspended, summary("prod", "ok")];
        let err = gate_result(&items, FailOn::Failed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "1 failed: Kustomization/flux-system/apps on prod"
        );
        let err = gate_result(&items, FailOn::NotReady).unwrap_err();
        assert!(err.to_string().starts_with("2 not ready"), "{err}");
        assert!(gate_result(&items[3..], FailOn::NotReady).is_ok());
    }
}
