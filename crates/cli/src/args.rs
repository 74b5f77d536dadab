//! The client subcommands' command line (clap), with an example section for each.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `--server` and `--token`, accepted by every client command (and its subcommands).
#[derive(Args, Debug, Clone, Default)]
pub struct Conn {
    /// Server URL, e.g. https://fluxo.example.com (default: the one `login` saved).
    #[arg(long, env = "FLUXO_SERVER", global = true)]
    pub server: Option<String>,
    /// API token (default: the one `login` saved for that server).
    #[arg(long, env = "FLUXO_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
}

/// The client subcommands, flattened into the binary's subcommands.
#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Check a token against a server and save both (0600) for the next commands.
    #[command(after_help = LOGIN_EXAMPLES)]
    Login(LoginArgs),
    /// Forget the saved server and token.
    #[command(after_help = "Examples:\n  flux-orchestrator logout")]
    Logout(Conn),
    /// Show who the token belongs to: name, role, scope.
    #[command(
        after_help = "Examples:\n  flux-orchestrator whoami\n  FLUXO_TOKEN=fluxo_… flux-orchestrator whoami --server https://fluxo.example.com"
    )]
    Whoami(Conn),
    /// Register, list, inspect, remove and resync clusters.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// List Flux objects across the fleet (like `flux get`), or follow them live with -w.
    #[command(after_help = GET_EXAMPLES)]
    Get(GetArgs),
    /// Ask Flux to reconcile objects now (like `flux reconcile`).
    #[command(after_help = RECONCILE_EXAMPLES)]
    Reconcile(ActionArgs),
    /// Suspend reconciliation of objects (like `flux suspend`).
    #[command(after_help = SUSPEND_EXAMPLES)]
    Suspend(SuspendArgs),
    /// Resume reconciliation of suspended objects (like `flux resume`).
    #[command(after_help = RESUME_EXAMPLES)]
    Resume(ResumeArgs),
    /// Controller events, newest first.
    #[command(after_help = EVENTS_EXAMPLES)]
    Events(EventsArgs),
    /// The change log of one object: health transitions, revisions, spec changes.
    #[command(after_help = HISTORY_EXAMPLES)]
    History(ObjectArgs),
    /// What an object manages and depends on, as an indented tree (like `flux tree`).
    #[command(after_help = TREE_EXAMPLES)]
    Tree(TreeArgs),
}

const LOGIN_EXAMPLES: &str = "Examples:
  # prompt for the token
  flux-orchestrator login --server https://fluxo.example.com
  # token from a file, or from the environment
  flux-orchestrator login --server https://fluxo.example.com --token-file ~/fluxo-token
  FLUXO_TOKEN=fluxo_… flux-orchestrator login --server https://fluxo.example.com";

/// `login`.
#[derive(Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Read the token from this file (first line) instead of prompting.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

/// `cluster …`.
#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Give the orchestrator its own read/patch credentials in a cluster of your kubeconfig and
    /// register it (like `argocd cluster add`).
    #[command(after_help = CLUSTER_ADD_EXAMPLES)]
    Add(ClusterAddArgs),
    /// List registered clusters and their connection state.
    #[command(
        after_help = "Examples:\n  flux-orchestrator cluster list\n  flux-orchestrator cluster list -l env=prod -o json"
    )]
    List(ClusterListArgs),
    /// Show one cluster: status, kinds watched, versions.
    #[command(
        after_help = "Examples:\n  flux-orchestrator cluster get prod-eu-1\n  flux-orchestrator cluster get prod-eu-1 -o yaml"
    )]
    Get(ClusterGetArgs),
    /// Unregister a cluster (its objects and history go with it).
    #[command(after_help = "Examples:\n  flux-orchestrator cluster rm staging-2 --yes")]
    Rm(ClusterRmArgs),
    /// Relist every watched kind of a cluster now (and retry a failing connection).
    #[command(after_help = "Examples:\n  flux-orchestrator cluster sync prod-eu-1")]
    Sync(ClusterNameArgs),
}

const CLUSTER_ADD_EXAMPLES: &str = "Examples:
  # show what would be created in the cluster of context `prod-eu-1`
  flux-orchestrator cluster add prod-eu-1 --dry-run
  # create it and register the cluster as `prod-eu-1` with labels
  flux-orchestrator cluster add prod-eu-1 --labels env=prod,region=eu
  # another kubeconfig, another name
  flux-orchestrator cluster add kind-dev --kubeconfig ~/.kube/dev.yaml --name dev";

/// `cluster add`.
#[derive(Args, Debug)]
pub struct ClusterAddArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// The context of your kubeconfig to use.
    pub context: String,
    /// Name to register the cluster under (default: the context's name, made DNS-safe).
    #[arg(long)]
    pub name: Option<String>,
    /// Cluster labels, `key=value,key=value`.
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Namespace of the ServiceAccount and its token Secret.
    #[arg(long, default_value = "kube-system")]
    pub namespace: String,
    /// Name of the ServiceAccount, ClusterRole, ClusterRoleBinding (and `<name>-token` Secret).
    #[arg(long, default_value = "flux-orchestrator")]
    pub service_account: String,
    /// Print the manifests (YAML) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for the token controller, e.g. `30s`, `2m`.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

/// `cluster list`.
#[derive(Args, Debug)]
pub struct ClusterListArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Only clusters whose labels match this selector, e.g. `env=prod,region in (eu,us)`.
    #[arg(short = 'l', long = "selector")]
    pub selector: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// `cluster get`.
#[derive(Args, Debug)]
pub struct ClusterGetArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Cluster name or id.
    pub name: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// `cluster rm`.
#[derive(Args, Debug)]
pub struct ClusterRmArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Cluster name or id.
    pub name: String,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
}

/// A command on one cluster.
#[derive(Args, Debug)]
pub struct ClusterNameArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Cluster name or id.
    pub name: String,
}

/// Output formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Columns.
    Table,
    /// More columns, messages in full.
    Wide,
    /// The API's JSON.
    Json,
    /// The API's JSON as YAML.
    Yaml,
}

/// What `--fail-on` fails on.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Any object whose health is `failed` or `stalled`.
    Failed,
    /// Any object that is not ready (failed, stalled, progressing, unknown); suspended ones pass.
    NotReady,
}

const GET_EXAMPLES: &str = "Examples:
  # every Flux object of the fleet
  flux-orchestrator get
  # Kustomizations of clusters labelled env=prod, namespace flux-system
  flux-orchestrator get ks -l env=prod -n flux-system
  # one HelmRelease on every cluster, as YAML
  flux-orchestrator get hr podinfo -o yaml
  # a CI gate: exit 1 when anything on prod-eu-1 failed
  flux-orchestrator get --cluster prod-eu-1 --fail-on failed
  # follow changes live
  flux-orchestrator get ks -w";

/// Which objects: the filters `get`, the actions with `--selector`, and `events` share.
#[derive(Args, Debug, Clone, Default)]
pub struct Filters {
    /// Only this cluster (name or id; repeatable).
    #[arg(long = "cluster")]
    pub clusters: Vec<String>,
    /// Only clusters whose labels match this selector, e.g. `env=prod`.
    #[arg(short = 'l', long = "cluster-selector")]
    pub cluster_selector: Option<String>,
    /// Only this namespace (repeatable).
    #[arg(short = 'n', long = "namespace")]
    pub namespaces: Vec<String>,
}

/// `get`.
#[derive(Args, Debug)]
pub struct GetArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Kind, plural or short name (`Kustomization`, `kustomizations`, `ks`, `hr`, …); `all` or
    /// nothing for every kind.
    pub kind: Option<String>,
    /// Object name (exact).
    pub name: Option<String>,
    #[command(flatten)]
    pub filters: Filters,
    /// Only objects of this health (repeatable): ready, progressing, failed, stalled,
    /// suspended, unknown.
    #[arg(long)]
    pub health: Vec<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// After the list, follow changes live and print each changed row.
    #[arg(short, long, conflicts_with = "fail_on")]
    pub watch: bool,
    /// Exit with 1 when a listed object is failed (or not ready).
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
}

const RECONCILE_EXAMPLES: &str = "Examples:
  flux-orchestrator reconcile ks apps -n flux-system --cluster prod-eu-1
  # fetch the source first, then wait until the controller handled it
  flux-orchestrator reconcile ks apps --cluster prod-eu-1 --with-source --wait
  # every Kustomization labelled tier=apps on every prod cluster
  flux-orchestrator reconcile ks --selector tier=apps -l env=prod --yes";

const SUSPEND_EXAMPLES: &str = "Examples:
  flux-orchestrator suspend hr podinfo -n apps --cluster prod-eu-1 --reason 'incident 42'
  flux-orchestrator suspend ks --selector team=payments --cluster-selector env=prod";

const RESUME_EXAMPLES: &str = "Examples:
  flux-orchestrator resume hr podinfo -n apps --cluster prod-eu-1 --wait
  flux-orchestrator resume ks --selector team=payments --cluster-selector env=prod --yes";

/// `reconcile`.
#[derive(Args, Debug)]
pub struct ActionArgs {
    #[command(flatten)]
    pub conn: Conn,
    #[command(flatten)]
    pub target: ActionTarget,
    /// Reconcile the object's source first (Kustomization, HelmRelease).
    #[arg(long)]
    pub with_source: bool,
}

/// `resume`.
#[derive(Args, Debug)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub conn: Conn,
    #[command(flatten)]
    pub target: ActionTarget,
}

/// `suspend`.
#[derive(Args, Debug)]
pub struct SuspendArgs {
    #[command(flatten)]
    pub conn: Conn,
    #[command(flatten)]
    pub target: ActionTarget,
    /// Why (stored as the `suspend.toolkit.fluxcd.io/reason` annotation).
    #[arg(long)]
    pub reason: Option<String>,
}

/// The objects an action is for: one by name, or many by `--selector`.
#[derive(Args, Debug)]
pub struct ActionTarget {
    /// Kind, plural or short name.
    pub kind: String,
    /// Object name (required without --selector).
    #[arg(required_unless_present = "selector")]
    pub name: Option<String>,
    /// Act on every object of the kind whose labels match this selector.
    #[arg(long, conflicts_with = "name")]
    pub selector: Option<String>,
    #[command(flatten)]
    pub filters: Filters,
    /// Do not ask for confirmation when acting on several objects.
    #[arg(short, long)]
    pub yes: bool,
    /// Wait until the controller has handled the request (progress on stderr).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, e.g. `90s`, `5m`.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

const EVENTS_EXAMPLES: &str = "Examples:
  flux-orchestrator events
  flux-orchestrator events --cluster prod-eu-1 --type Warning
  flux-orchestrator events --kind hr --name podinfo -n apps";

/// `events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub conn: Conn,
    #[command(flatten)]
    pub filters: Filters,
    /// Only events about objects of this kind (repeatable).
    #[arg(long)]
    pub kind: Vec<String>,
    /// Only events about objects of this name (repeatable).
    #[arg(long)]
    pub name: Vec<String>,
    /// Only `Normal` or `Warning` events.
    #[arg(long = "type")]
    pub event_type: Vec<String>,
    /// How many events to show.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

const HISTORY_EXAMPLES: &str = "Examples:
  flux-orchestrator history ks apps -n flux-system --cluster prod-eu-1
  flux-orchestrator history hr podinfo -n apps --cluster prod-eu-1 -o json";

/// One object: `history`.
#[derive(Args, Debug)]
pub struct ObjectArgs {
    #[command(flatten)]
    pub conn: Conn,
    #[command(flatten)]
    pub object: ObjectRef,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// KIND NAME with its namespace and cluster.
#[derive(Args, Debug, Clone)]
pub struct ObjectRef {
    /// Kind, plural or short name.
    pub kind: String,
    /// Object name.
    pub name: String,
    /// Namespace.
    #[arg(short = 'n', long = "namespace", default_value = "flux-system")]
    pub namespace: String,
    /// Cluster name or id (needed when the name exists on several clusters).
    #[arg(long)]
    pub cluster: Option<String>,
}

const TREE_EXAMPLES: &str = "Examples:
  flux-orchestrator tree ks flux-system --cluster prod-eu-1
  flux-orchestrator tree gitrepo flux-system --cluster prod-eu-1 --depth 2";

/// `tree`.
#[derive(Args, Debug)]
pub struct TreeArgs {
    #[command(flatten)]
    pub conn: Conn,
    #[command(flatten)]
    pub object: ObjectRef,
    /// Levels to follow (1–10).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub depth: u32,
    /// Show what the object depends on instead of what it manages.
    #[arg(long)]
    pub up: bool,
}

/// `90s`, `5m`, `1h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 5m or 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("{text:?}: the unit must be s, m or h")),
    };
    Ok(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_take_seconds_minutes_and_hours() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("").is_err());
    }
}
