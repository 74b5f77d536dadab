//! Reads about workloads beside the resource lists: their images (`workload_images`), and the
//! health of the stored objects among a set of ids (inventory entries).

use std::collections::HashMap;

use uuid::Uuid;

use super::types::column;
use super::{Result, Store};
use crate::flux::{Health, WorkloadImage};

impl Store {
    /// The images of the workloads `ids`, each in container order (containers, then init
    /// containers); workloads without images are left out.
    pub async fn workload_images(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<WorkloadImage>>> {
        let mut out: HashMap<Uuid, Vec<WorkloadImage>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let conn = self.read_conn().await?;
        let rows = conn
            .query(
                "SELECT resource_id, container, init, image, repository, tag, digest \
                 FROM workload_images WHERE resource_id = ANY($1) ORDER BY resource_id, position",
                &[&ids],
            )
            .await?;
        for r in rows {
            out.entry(r.get(0)).or_default().push(WorkloadImage {
                container: r.get(1),
                init: r.get(2),
                image: r.get(3),
                repository: r.get(4),
                tag: r.get(5),
                digest: r.get(6),
            });
        }
        Ok(out)
    }

    /// The health of the objects among `ids` that are stored.
    pub async fn healths(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Health>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let conn = self.read_conn().await?;
        let rows = conn
            .query(
                "SELECT id, health FROM flux_resources WHERE id = ANY($1)",
                &[&ids],
            )
            .await?;
        rows.iter().map(|r| Ok((r.get(0), column(r, 1)?))).collect()
    }
}
