//! Schema migrations: the files in `sql/`, applied in order at start-up.
//!
//! All pending migrations run in one transaction that first takes a transaction-scoped advisory
//! lock, so replicas starting together queue behind each other instead of racing, and a failed
//! migration leaves nothing half-applied. Each applied migration is recorded with the SHA-256 of
//! its text; a file edited after it was applied stops the start with a clear message.

use sha2::{Digest, Sha256};

use super::{Error, Result};

/// One migration file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Number from the file name (`0001_...`): the order of application.
    pub version: i32,
    /// The file name without number and extension.
    pub name: &'static str,
    /// The SQL text.
    pub sql: &'static str,
}

impl Migration {
    /// Hex SHA-256 of the SQL text.
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// Every migration, in order. A test checks this list against the files in `sql/`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "clusters",
        sql: include_str!("../../sql/0001_clusters.sql"),
    },
    Migration {
        version: 2,
        name: "resources",
        sql: include_str!("../../sql/0002_resources.sql"),
    },
    Migration {
        version: 3,
        name: "replicas",
        sql: include_str!("../../sql/0003_replicas.sql"),
    },
    Migration {
        version: 4,
        name: "change_log_floor",
        sql: include_str!("../../sql/0004_change_log_floor.sql"),
    },
    Migration {
        version: 5,
        name: "auth",
        sql: include_str!("../../sql/0005_auth.sql"),
    },
    Migration {
        version: 6,
        name: "resources_updated_index",
        sql: include_str!("../../sql/0006_resources_updated_index.sql"),
    },
    Migration {
        version: 7,
        name: "resource_list_indexes",
        sql: include_str!("../../sql/0007_resource_list_indexes.sql"),
    },
    Migration {
        version: 8,
        name: "cluster_status_detail",
        sql: include_str!("../../sql/0008_cluster_status_detail.sql"),
    },
    Migration {
        version: 9,
        name: "cluster_states",
        sql: include_str!("../../sql/0009_cluster_states.sql"),
    },
    Migration {
        version: 10,
        name: "resource_versions",
        sql: include_str!("../../sql/0010_resource_versions.sql"),
    },
    Migration {
        version: 11,
        name: "resource_edges",
        sql: include_str!("../../sql/0011_resource_edges.sql"),
    },
    Migration {
        version: 12,
        name: "timeline",
        sql: include_str!("../../sql/0012_timeline.sql"),
    },
    Migration {
        version: 13,
        name: "workloads",
        sql: include_str!("../../sql/0013_workloads.sql"),
    },
    Migration {
        version: 14,
        name: "notifications",
        sql: include_str!("../../sql/0014_notifications.sql"),
    },
    Migration {
        version: 15,
        name: "notify_engine",
        sql: include_str!("../../sql/0015_notify_engine.sql"),
    },
    Migration {
        version: 16,
        name: "rollouts",
        sql: include_str!("../../sql/0016_rollouts.sql"),
    },
    Migration {
        version: 17,
        name: "reliability",
        sql: include_str!("../../sql/0017_reliability.sql"),
    },
    Migration {
        version: 18,
        name: "reliability_cumulative",
        sql: include_str!("../../sql/0018_reliability_cumulative.sql"),
    },
    Migration {
        version: 19,
        name: "image_statistics",
        sql: include_str!("../../sql/0019_image_statistics.sql"),
    },
];

/// Advisory lock key for migrations ("fluxmigr" in ASCII).
const MIGRATION_LOCK: i64 = 0x666c_7578_6d69_6772;

/// Apply pending migrations; returns how many were applied.
pub(super) async fn run(conn: &mut deadpool_postgres::Object) -> Result<usize> {
    let tx = conn.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("SET LOCAL client_min_messages = warning")
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             checksum   text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let rows = tx
        .query(
            "SELECT version, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    let applied: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    check_applied(&applied)?;
    let mut count = 0;
    for migration in MIGRATIONS {
        if applied.iter().any(|(v, _)| *v == migration.version) {
            continue;
        }
        tx.batch_execute(migration.sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&migration.version, &migration.name, &migration.checksum()],
        )
        .await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
        count += 1;
    }
    tx.commit().await?;
    Ok(count)
}

/// Refuse to start when an applied migration was edited or the database is newer than us.
fn check_applied(applied: &[(i32, String)]) -> Result<()> {
    let newest_known = MIGRATIONS.last().map_or(0, |m| m.version);
    for (version, checksum) in applied {
        let Some(migration) = MIGRATIONS.iter().find(|m| m.version == *version) else {
            return Err(Error::MigrationUnknown(*version, newest_known));
        };
        let current = migration.checksum();
        if *checksum != current {
            return Err(Error::MigrationEdited {
                version: *version,
                name: migration.name.to_string(),
                applied: checksum.clone(),
                current,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_list_matches_the_files_in_sql_dir() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sql");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("sql/ exists")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8")
            })
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(
            files, listed,
            "every sql/NNNN_name.sql must be listed in MIGRATIONS, in order"
        );
    }

    #[test]
    fn an_edited_migration_is_refused_with_its_name() {
        let err = check_applied(&[(1, "0".repeat(64))]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("migration 1 (clusters) was changed"),
            "{text}"
        );
    }

    #[test]
    fn a_database_newer_than_the_binary_is_refused() {
        let err = check_applied(&[(9999, "x".into())]).unwrap_err();
        assert!(matches!(err, Error::MigrationUnknown(9999, _)));
    }
}
