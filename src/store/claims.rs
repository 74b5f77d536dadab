//! Cluster claims for scale-out: each cluster is watched by exactly one replica, the holder of a
//! session-level advisory lock on a dedicated connection. If the replica dies, its connection
//! dies and PostgreSQL releases the locks; another replica claims them within seconds.
//! The same connection LISTENs for registry changes and sync requests.

use std::time::Duration;

use uuid::Uuid;

use super::listen::{Channel, Listener, Notification};
use super::{Result, Store};

/// The dedicated claims connection of one replica: its advisory locks are the claims, and it
/// listens for registry changes and sync requests.
pub struct Claims {
    listener: Listener,
}

/// The advisory lock key of a cluster: its id folded to 64 bits, in a space of its own.
fn lock_key(cluster: Uuid) -> i64 {
    let (hi, lo) = cluster.as_u64_pair();
    (hi ^ lo ^ 0x636c_7573_7465_7273) as i64
}

impl Store {
    /// Open the claims connection and start listening.
    pub async fn claims(&self) -> Result<Claims> {
        let listener = self
            .listen(super::Role::Claims, &[Channel::Clusters, Channel::Sync])
            .await?;
        Ok(Claims { listener })
    }

    /// Record that `replica` is alive; returns how many replicas were seen within `window`.
    pub async fn heartbeat(&self, replica: &str, window: Duration) -> Result<i64> {
        let conn = self.conn().await?;
        conn.execute(
            "INSERT INTO replicas (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET last_seen = now()",
            &[&replica],
        )
        .await?;
        let secs = window.as_secs_f64();
        conn.execute(
            "DELETE FROM replicas WHERE last_seen < now() - make_interval(secs => $1::float8 * 10)",
            &[&secs],
        )
        .await?;
        let row = conn
            .query_one("SELECT count(*) FROM replicas WHERE last_seen > now() - make_interval(secs => $1::float8)", &[&secs])
            .await?;
        Ok(row.get(0))
    }

    /// Forget a replica that shuts down, so the others rebalance at once.
    pub async fn leave(&self, replica: &str) -> Result<()> {
        let conn = self.conn().await?;
        conn.execute("DELETE FROM replicas WHERE id = $1", &[&replica])
            .await?;
        Ok(())
    }
}

impl Claims {
    /// Try to claim a cluster; true if this replica now holds it.
    pub async fn try_claim(&self, cluster: Uuid) -> Result<bool> {
        let row = self
            .listener
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(cluster)])
            .await?;
        Ok(row.get(0))
    }

    /// Release a claim held by this replica.
    pub async fn release(&self, cluster: Uuid) -> Result<()> {
        self.listener
            .client
            .execute("SELECT pg_advisory_unlock($1)", &[&lock_key(cluster)])
            .await?;
        Ok(())
    }

    /// False once the connection (and so every claim) is gone.
    pub fn is_alive(&self) -> bool {
        self.listener.is_alive()
    }

    /// The next registry change or sync request; `Err` once the connection is gone (and with
    /// it every claim).
    pub async fn next(&mut self) -> Result<Notification> {
        self.listener.next().await
    }
}
