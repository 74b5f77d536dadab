//! Printing: the resource table of `get` (table and wide), JSON and YAML, and stdout that
//! ends quietly when the reader closes the pipe (`get | head`).

use std::io::Write;

use fluxo_client::types::{Health, ResourceSummary};
use serde::Serialize;

use super::args::Output;
use super::error::{Error, Result};
use super::table::{Table, truncate};

/// Longest message shown in `table` output (`wide` shows it whole).
const MESSAGE_WIDTH: usize = 80;

/// `READY` as `flux get` shows it.
pub fn ready(health: Health) -> &'static str {
    match health {
        Health::Ready => "True",
        Health::Failed | Health::Stalled => "False",
        Health::Progressing | Health::Suspended | Health::Unknown => "Unknown",
    }
}

/// The columns of the resource table; `kind` when several kinds are listed.
pub fn resource_table(items: &[ResourceSummary], wide: bool) -> Table {
    let mixed = wide || items.windows(2).any(|w| w[0].kind != w[1].kind);
    resource_table_with(items, mixed, wide)
}

/// [`resource_table`] with or without the `KIND` column.
pub fn resource_table_with(items: &[ResourceSummary], mixed: bool, wide: bool) -> Table {
    let mut headers = vec![];
    if mixed {
        headers.push("KIND");
    }
    headers.extend([
        "CLUSTER",
        "NAMESPACE",
        "NAME",
        "READY",
        "REVISION",
        "SUSPENDED",
        "MESSAGE",
    ]);
    if wide {
        headers.extend(["HEALTH", "UPDATED"]);
    }
    let mut table = Table::new(headers);
    for r in items {
        table.row(resource_row(r, mixed, wide));
    }
    table
}

/// One row of [`resource_table`].
pub fn resource_row(r: &ResourceSummary, kind: bool, wide: bool) -> Vec<String> {
    let message = r.message.clone().unwrap_or_default();
    let mut cells = vec![];
    if kind {
        cells.push(r.kind.clone());
    }
    cells.extend([
        r.cluster.clone(),
        r.namespace.clone(),
        r.name.clone(),
        ready(r.health).to_string(),
        r.revision.clone().unwrap_or_default(),
        if r.suspended { "True" } else { "False" }.to_string(),
        if wide {
            message
        } else {
            truncate(&message, MESSAGE_WIDTH)
        },
    ]);
    if wide {
        cells.push(r.health.to_string());
        cells.push(r.updated_at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
    cells
}

/// Print `value` as JSON or YAML.
pub fn structured<T: Serialize>(value: &T, format: Output) -> Result<()> {
    let text = match format {
        Output::Yaml => serde_yaml::to_string(value).map_err(|e| Error::Protocol(e.to_string()))?,
        _ => {
            let mut t =
                serde_json::to_string_pretty(value).map_err(|e| Error::Protocol(e.to_string()))?;
            t.push('\n');
            t
        }
    };
    print(&text)
}

/// Write to stdout; a closed pipe ends the output quietly.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// A line of progress on stderr (never mixed into the output a script reads).
pub fn progress(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::tests::summary;

    #[test]
    fn one_kind_has_no_kind_column_and_several_kinds_do() {
        let mut a = summary("prod", "apps");
        a.revision = Some("main@sha1:abc".into());
        a.message = Some("Applied revision: main@sha1:abc".into());
        let t = resource_table(std::slice::from_ref(&a), false).render();
        assert_eq!(
            t,
            "CLUSTER   NAMESPACE     NAME   READY   REVISION        SUSPENDED   MESSAGE\n\
             prod      flux-system   apps   True    main@sha1:abc   False       Applied revision: main@sha1:abc\n"
        );
        let mut b = summary("prod", "podinfo");
        b.kind = "HelmRelease".into();
        b.health = Health::Failed;
        b.suspended = true;
        let t = resource_table(&[a, b], false).render();
        assert!(t.starts_with("KIND            CLUSTER"), "{t}");
        assert!(
            t.contains(
                "HelmRelease     prod      flux-system   podinfo   False                   True"
            ),
            "{t}"
        );
    }

    #[test]
    fn table_output_truncates_messages_and_wide_output_does_not() {
        let mut a = summary("prod", "apps");
        a.message = Some("x".repeat(200));
        let table = resource_table(std::slice::from_ref(&a), false).render();
        assert!(
            table
                .lines()
                .nth(1)
                .unwrap()
                .ends_with(&format!("{}…", "x".repeat(79)))
        );
        let wide = resource_table(&[a], true).render();
        assert!(wide.contains(&"x".repeat(200)));
        assert!(wide.starts_with("KIND"));
        assert!(wide.lines().next().unwrap().ends_with("HEALTH   UPDATED"));
    }

    #[test]
    fn ready_reads_like_flux_get() {
        assert_eq!(ready(Health::Ready), "True");
        assert_eq!(ready(Health::Stalled), "False");
        assert_eq!(ready(Health::Suspended), "Unknown");
    }
}
