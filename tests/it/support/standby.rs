//! A PostgreSQL primary and a hot standby streaming from it (`scripts/pg-standby.sh`), of
//! one test's own: a standby replicates the whole cluster, so the shared test server cannot
//! be used. Stopped and removed when dropped.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::files::repo;
use super::raw::free_port;

/// The pair, and the database `fluxo` the test's server uses on it.
pub struct Pair {
    dir: tempfile::TempDir,
    /// Port of the primary.
    pub primary: u16,
    /// Port of the standby.
    pub standby: u16,
}

fn script(args: &[&str]) {
    let path: PathBuf = repo().join("scripts/pg-standby.sh");
    let out = Command::new(path)
        .args(args)
        .output()
        .expect("run pg-standby.sh");
    assert!(
        out.status.success(),
        "pg-standby.sh {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pair {
    /// Start a primary and its standby, with the database `fluxo` created on the primary and
    /// replicated.
    pub async fn start() -> Pair {
        super::install_crypto();
        let dir = tempfile::Builder::new()
            .prefix("fluxo-standby")
            .tempdir()
            .expect("temp dir");
        let (primary, standby) = (free_port(), free_port());
        let path = dir.path().to_str().expect("utf-8 temp dir").to_string();
        let ports = (primary.to_string(), standby.to_string());
        tokio::task::spawn_blocking(move || script(&["start", &path, &ports.0, &ports.1]))
            .await
            .expect("start the pair");
        let pair = Pair {
            dir,
            primary,
            standby,
        };
        let admin = pair.client(primary, "postgres").await;
        admin
            .batch_execute("CREATE DATABASE fluxo")
            .await
            .expect("create database");
        pair.wait_replicated().await;
        pair
    }

    /// URL of the database on the primary.
    pub fn primary_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/fluxo", self.primary)
    }

    /// URL of the database on the standby.
    pub fn standby_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/fluxo", self.standby)
    }

    /// A client of `database` on the server at `port`.
    pub async fn client(&self, port: u16, database: &str) -> tokio_postgres::Client {
        let url =
            format!("postgres://postgres@127.0.0.1:{port}/{database}?application_name=fluxo-test");
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client
    }

    /// Wait until the standby has replayed everything the primary has written so far.
    pub async fn wait_replicated(&self) {
        let primary = self.client(self.primary, "postgres").await;
        let lsn: String = primary
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .await
            .expect("primary lsn")
            .get(0);
        let standby = self.client(self.standby, "postgres").await;
        for _ in 0..500 {
            let caught_up: bool = standby
                .query_one(
                    "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                    &[&lsn],
                )
                .await
                .expect("standby lsn")
                .get(0);
            if caught_up {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the standby did not replay up to {lsn} within 10 s");
    }

    /// Pause (true) or resume (false) the standby's replay: writes still arrive, unseen.
    pub async fn pause_replay(&self, pause: bool) {
        let standby = self.client(self.standby, "postgres").await;
        let sql = if pause {
            "SELECT pg_wal_replay_pause()"
        } else {
            "SELECT pg_wal_replay_resume()"
        };
        standby.batch_execute(sql).await.expect("pause or resume");
    }

    /// Stop the standby at once (immediate shutdown: its connections are cut).
    pub async fn kill_standby(&self) {
        let path = self.dir.path().to_str().expect("utf-8").to_string();
        tokio::task::spawn_blocking(move || script(&["kill-standby", &path]))
            .await
            .expect("kill the standby");
    }

    /// Start the standby again after [`Pair::kill_standby`]; it catches up by itself.
    pub async fn restart_standby(&self) {
        let path = self.dir.path().to_str().expect("utf-8").to_string();
        let port = self.standby.to_string();
        tokio::task::spawn_blocking(move || script(&["start-standby", &path, &port]))
            .await
            .expect("restart the standby");
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        if let Some(path) = self.dir.path().to_str() {
            script(&["stop", path]);
        }
    }
}
