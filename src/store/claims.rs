//! Cluster claims for scale-out: each cluster is watched by exactly one replica, the holder of a
//! session-level advisory lock on a dedicated connection. If the replica dies, its connection
//! dies and PostgreSQL releases the locks; another replica claims them within seconds.
//! The same connection LISTENs for registry changes and sync requests.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;
use uuid::Uuid;

use super::clusters::{CLUSTERS_CHANNEL, SYNC_CHANNEL};
use super::{Result, Store};

/// A notification received on the claims connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A cluster was created, changed or deleted.
    ClusterChanged(Uuid),
    /// Someone asked for a relist of this cluster now.
    Sync(Uuid),
}

/// The dedicated claims connection of one replica.
pub struct Claims {
    client: tokio_postgres::Client,
    /// Notifications; closed when the connection dies (and with it every claim).
    pub notices: mpsc::UnboundedReceiver<Notice>,
}

/// The advisory lock key of a cluster: its id folded to 64 bits, in a space of its own.
fn lock_key(cluster: Uuid) -> i64 {
    let (hi, lo) = cluster.as_u64_pair();
    (hi ^ lo ^ 0x636c_7573_7465_7273) as i64
}

impl Store {
    /// Open the claims connection and start listening.
    pub async fn claims(&self) -> Result<Claims> {
        let (client, mut connection) = self.dedicated().await?;
        let (tx, notices) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                let Ok(AsyncMessage::Notification(n)) = message else {
                    if message.is_err() {
                        break;
                    }
                    continue;
                };
                let Ok(id) = Uuid::parse_str(n.payload()) else {
                    continue;
                };
                let notice = match n.channel() {
                    CLUSTERS_CHANNEL => Notice::ClusterChanged(id),
                    SYNC_CHANNEL => Notice::Sync(id),
                    _ => continue,
                };
                if tx.send(notice).is_err() {
                    break;
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN {CLUSTERS_CHANNEL}; LISTEN {SYNC_CHANNEL}"))
            .await?;
        Ok(Claims { client, notices })
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
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(cluster)])
            .await?;
        Ok(row.get(0))
    }

    /// Release a claim held by this replica.
    pub async fn release(&self, cluster: Uuid) -> Result<()> {
        self.client
            .execute("SELECT pg_advisory_unlock($1)", &[&lock_key(cluster)])
            .await?;
        Ok(())
    }

    /// False once the connection (and so every claim) is gone.
    pub fn is_alive(&self) -> bool {
        !self.client.is_closed()
    }
}
