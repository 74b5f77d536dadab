//! `reconcile`, `suspend`, `resume`: resolve the targets (one by name, many by selector, with
//! a confirmation), act on each, follow each to its end with `--wait`, and sum up.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use fluxo_client::types::{ActionAccepted, ResourceSummary, SuspendRequest};

use super::api::Api;
use super::args::{ActionTarget, ObjectRef};
use super::error::{Error, Result};
use super::output::{print, progress};
use super::resolve::{self, Query, describe};

/// The action to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Reconcile now (optionally the source first).
    Reconcile {
        /// `--with-source`.
        with_source: bool,
    },
    /// Suspend, with a reason.
    Suspend {
        /// `--reason`.
        reason: Option<String>,
    },
    /// Resume (which also asks for a reconcile).
    Resume,
}

impl Action {
    fn verb(&self) -> &'static str {
        match self {
            Action::Reconcile { .. } => "reconcile",
            Action::Suspend { .. } => "suspend",
            Action::Resume => "resume",
        }
    }

    fn past(&self) -> &'static str {
        match self {
            Action::Reconcile { .. } => "reconciled",
            Action::Suspend { .. } => "suspended",
            Action::Resume => "resumed",
        }
    }
}

/// Run an action command.
pub async fn run(api: &Api, target: &ActionTarget, action: Action) -> Result<()> {
    let targets = targets(api, target).await?;
    if targets.len() > 1 && !target.yes {
        confirm(&action, &targets)?;
    }
    let mut failures = Vec::new();
    for r in &targets {
        match act_and_wait(api, r, &action, target).await {
            Ok(line) => print(&format!("{line}\n"))?,
            Err(e @ Error::Unreachable { .. }) => return Err(e),
            Err(e) => {
                progress(&format!("✗ {}: {e}", describe(r)));
                failures.push(describe(r));
            }
        }
    }
    summary(&action, targets.len(), &failures)
}

/// The `n of m` verdict; an error when anything failed.
pub fn summary(action: &Action, total: usize, failures: &[String]) -> Result<()> {
    if total > 1 {
        progress(&format!(
            "{} of {total} {}, {} failed",
            total - failures.len(),
            action.past(),
            failures.len()
        ));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "{} failed: {}",
            action.verb(),
            failures.join(", ")
        )))
    }
}

async fn targets(api: &Api, target: &ActionTarget) -> Result<Vec<ResourceSummary>> {
    let clusters = resolve::cluster_filter(api, &target.filters).await?;
    let Some(selector) = &target.selector else {
        let object = ObjectRef {
            kind: target.kind.clone(),
            name: target.name.clone().unwrap_or_default(),
            namespace: target
                .filters
                .namespaces
                .first()
                .cloned()
                .unwrap_or_else(|| "flux-system".into()),
            cluster: None,
        };
        let query = Query {
            clusters,
            kinds: vec![object.kind.clone()],
            namespaces: vec![object.namespace.clone()],
            name: Some(object.name.clone()),
            ..Query::default()
        };
        return Ok(vec![resolve::one(
            resolve::list(api, &query).await?,
            &object,
        )?]);
    };
    let query = Query {
        clusters,
        kinds: vec![target.kind.clone()],
        namespaces: target.filters.namespaces.clone(),
        labels: Some(selector.clone()),
        ..Query::default()
    };
    let found = resolve::list(api, &query).await?;
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "no {} matches the selector {selector:?}",
            target.kind
        )));
    }
    Ok(found)
}

/// Ask before acting on several objects; refuse without a terminal to ask on.
fn confirm(action: &Action, targets: &[ResourceSummary]) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "{} {} objects: pass --yes to confirm (no terminal to ask on)",
            action.verb(),
            targets.len()
        )));
    }
    let mut err = std::io::stderr();
    for r in targets {
        let _ = writeln!(err, "  {}", describe(r));
    }
    let _ = write!(
        err,
        "{} these {} objects? [y/N] ",
        action.verb(),
        targets.len()
    );
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::Usage("cancelled".into()))
    }
}

async fn act(api: &Api, r: &ResourceSummary, action: &Action) -> Result<ActionAccepted> {
    let c = &api.client;
    let sent = match action {
        Action::Reconcile { with_source } => {
            c.reconcile_resource()
                .id(r.id)
                .with_source(*with_source)
                .send()
                .await
        }
        Action::Resume => c.resume_resource().id(r.id).send().await,
        Action::Suspend { reason } => {
            let body = SuspendRequest {
                reason: reason.clone(),
            };
            c.suspend_resource().id(r.id).body(body).send().await
        }
    };
    Ok(sent.map_err(|e| api.err(e))?.into_inner())
}

async fn act_and_wait(
    api: &Api,
    r: &ResourceSummary,
    action: &Action,
    target: &ActionTarget,
) -> Result<String> {
    let accepted = act(api, r, action).await?;
    if !target.wait {
        return Ok(format!("► {} {} requested", describe(r), action.verb()));
    }
    let done = wait(api, r, action, &accepted.token, target.timeout).await?;
    let health = done.health;
    if matches!(
        health,
        fluxo_client::types::Health::Failed | fluxo_client::types::Health::Stalled
    ) {
        let message = done.message.unwrap_or_default();
        return Err(Error::Failed(format!("handled, but {health}: {message}")));
    }
    let revision = done
        .revision
        .map(|v| format!(" (revision {v})"))
        .unwrap_or_default();
    Ok(format!(
        "✔ {} {}{revision}: {health}",
        describe(r),
        action.past()
    ))
}

/// Whether the controller has handled the request with `token`.
pub fn handled(action: &Action, token: &str, r: &ResourceSummary) -> bool {
    match action {
        Action::Suspend { .. } => r.suspended,
        Action::Resume => !r.suspended && r.last_handled_reconcile_at.as_deref() == Some(token),
        Action::Reconcile { .. } => r.last_handled_reconcile_at.as_deref() == Some(token),
    }
}

/// Poll the object until [`handled`], printing progress on stderr.
async fn wait(
    api: &Api,
    r: &ResourceSummary,
    action: &Action,
    token: &str,
    timeout: Duration,
) -> Result<ResourceSummary> {
    let started = Instant::now();
    progress(&format!(
        "◎ waiting for {} to be {}",
        describe(r),
        action.past()
    ));
    let mut last_health = None;
    loop {
        let now = api
            .client
            .get_resource()
            .id(r.id)
            .send()
            .await
            .map_err(|e| api.err(e))?;
        let now = now.into_inner().resource;
        if handled(action, token, &now) {
            return Ok(now);
        }
        if last_health != Some(now.health) {
            progress(&format!(
                "  {}: {} ({}s)",
                describe(r),
                now.health,
                started.elapsed().as_secs()
            ));
            last_health = Some(now.health);
        }
        if started.elapsed() >= timeout {
            return Err(Error::Timeout(
                timeout,
                format!("{} was not {} yet", describe(r), action.past()),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::tests::summary;

    #[test]
    fn a_request_is_handled_when_the_controller_echoes_its_token() {
        let mut r = summary("prod", "apps");
        let reconcile = Action::Reconcile { with_source: false };
        assert!(!handled(&reconcile, "t1", &r));
        r.last_handled_reconcile_at = Some("t1".into());
        assert!(handled(&reconcile, "t1", &r));
        assert!(!handled(&reconcile, "t2", &r));
        let suspend = Action::Suspend { reason: None };
        assert!(!handled(&suspend, "t1", &r));
        r.suspended = true;
        assert!(handled(&suspend, "t1", &r));
        assert!(!handled(&Action::Resume, "t1", &r));
    }

    #[test]
    fn the_summary_fails_when_any_target_failed() {
        let action = Action::Reconcile { with_source: false };
        assert!(super::summary(&action, 3, &[]).is_ok());
        let err = super::summary(&action, 3, &["Kustomization/a/b on c".into()]).unwrap_err();
        assert_eq!(err.to_string(), "reconcile failed: Kustomization/a/b on c");
    }
}
