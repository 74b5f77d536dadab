//! `cluster list | get | rm | sync` (`cluster add` is [`super::cluster_add`]).

use std::io::IsTerminal;

use fluxo_client::types::Cluster;

use super::api::Api;
use super::args::{ClusterGetArgs, ClusterListArgs, ClusterNameArgs, ClusterRmArgs, Output};
use super::error::{Error, Result};
use super::output::{print, structured};
use super::resolve;
use super::table::Table;

/// `cluster list`.
pub async fn list(api: &Api, args: &ClusterListArgs) -> Result<()> {
    let all = resolve::clusters(api).await?;
    let shown: Vec<&Cluster> = match &args.selector {
        Some(s) => resolve::select_clusters(&all, s)?,
        None => all.iter().collect(),
    };
    match args.output {
        Output::Json | Output::Yaml => structured(&shown, args.output),
        Output::Table | Output::Wide => print(&table(&shown, args.output == Output::Wide).render()),
    }
}

/// The cluster table.
pub fn table(clusters: &[&Cluster], wide: bool) -> Table {
    let mut headers = vec!["NAME", "STATE", "SERVER", "LABELS", "FLUX", "KUBERNETES"];
    if wide {
        headers.extend(["MESSAGE", "ID"]);
    }
    let mut t = Table::new(headers);
    for c in clusters {
        let status = c.status.as_ref();
        let mut labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        labels.sort();
        let mut row = vec![
            c.name.clone(),
            status.map_or_else(|| "pending".to_string(), |s| s.state.to_string()),
            c.server_url.clone(),
            labels.join(","),
            status
                .and_then(|s| s.flux_version.clone())
                .unwrap_or_default(),
            status
                .and_then(|s| s.kubernetes_version.clone())
                .unwrap_or_default(),
        ];
        if wide {
            row.push(status.map(|s| s.message.clone()).unwrap_or_default());
            row.push(c.id.to_string());
        }
        t.row(row);
    }
    t
}

/// `cluster get`.
pub async fn get(api: &Api, args: &ClusterGetArgs) -> Result<()> {
    let c = resolve::cluster(api, &args.name).await?;
    let full = api
        .client
        .get_cluster()
        .id(c.id)
        .send()
        .await
        .map_err(|e| api.err(e))?
        .into_inner();
    match args.output {
        Output::Json | Output::Yaml => structured(&full, args.output),
        Output::Table | Output::Wide => {
            let mut out = table(&[&full], true).render();
            if let Some(status) = &full.status {
                let mut kinds = Table::new(["KIND", "STATE", "VERSION", "MESSAGE"]);
                let mut names: Vec<&String> = status.kinds.keys().collect();
                names.sort();
                for name in names {
                    let k = &status.kinds[name];
                    kinds.row([
                        name.clone(),
                        k.state.to_string(),
                        k.version.clone().unwrap_or_default(),
                        k.message.clone().unwrap_or_default(),
                    ]);
                }
                out.push('\n');
                out.push_str(&kinds.render());
            }
            print(&out)
        }
    }
}

/// `cluster rm`.
pub async fn rm(api: &Api, args: &ClusterRmArgs) -> Result<()> {
    let c = resolve::cluster(api, &args.name).await?;
    if !args.yes {
        confirm_rm(&c.name)?;
    }
    api.client
        .delete_cluster()
        .id(c.id)
        .send()
        .await
        .map_err(|e| api.err(e))?;
    print(&format!("cluster {} removed\n", c.name))
}

fn confirm_rm(name: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "removing cluster {name} deletes its objects and history here: pass --yes to confirm"
        )));
    }
    eprint!("remove cluster {name} and its history from the orchestrator? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::Usage("cancelled".into()))
    }
}

/// `cluster sync`.
pub async fn sync(api: &Api, args: &ClusterNameArgs) -> Result<()> {
    let c = resolve::cluster(api, &args.name).await?;
    api.client
        .sync_cluster()
        .id(c.id)
        .send()
        .await
        .map_err(|e| api.err(e))?;
    print(&format!("cluster {}: relist requested\n", c.name))
}
