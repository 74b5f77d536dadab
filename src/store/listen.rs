//! The one owner of PostgreSQL notifications: a dedicated connection that `LISTEN`s on some of
//! the store's channels and yields typed [`Notification`]s. The live listener (change log and
//! cluster updates) and ingest's claims connection (registry changes, sync requests) each hold
//! one; neither sees `tokio_postgres` or a channel name.
//!
//! The connection is driven by a task of its own, which forwards notifications in the order
//! they arrive and ends when the connection fails or the [`Listener`] is dropped (dropping the
//! client closes the connection, and with it any session state such as advisory locks).

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;
use uuid::Uuid;

use super::changes::{ChangeRow, LogBounds, log_bounds, read_changes};
use super::clusters::{CLUSTERS_CHANNEL, SYNC_CHANNEL};
use super::resources::CHANGES_CHANNEL;
use super::status::CLUSTER_STATUS_CHANNEL;
use super::{Error, Result, Store};

/// What a listening connection can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A batch of changes was committed to the change log.
    Changes,
    /// A cluster's status (state, per-kind watch status) was written.
    ClusterStatus,
    /// A cluster was registered, changed or deleted.
    Clusters,
    /// Someone asked for a relist of a cluster now.
    Sync,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Changes => CHANGES_CHANNEL,
            Channel::ClusterStatus => CLUSTER_STATUS_CHANNEL,
            Channel::Clusters => CLUSTERS_CHANNEL,
            Channel::Sync => SYNC_CHANNEL,
        }
    }
}

/// A notification, parsed. Payloads that do not parse (never written by this program) are
/// dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notification {
    /// The change log's head is at least `seq`.
    Changes {
        /// Highest seq of the committed batch.
        seq: i64,
    },
    /// The status of this cluster changed.
    ClusterStatus(Uuid),
    /// This cluster was created, changed or deleted.
    Cluster(Uuid),
    /// A relist of this cluster was requested.
    Sync(Uuid),
}

impl Notification {
    /// The channel it travels on, and its payload.
    fn encode(self) -> (&'static str, String) {
        match self {
            Notification::Changes { seq } => (CHANGES_CHANNEL, seq.to_string()),
            Notification::ClusterStatus(id) => (CLUSTER_STATUS_CHANNEL, id.to_string()),
            Notification::Cluster(id) => (CLUSTERS_CHANNEL, id.to_string()),
            Notification::Sync(id) => (SYNC_CHANNEL, id.to_string()),
        }
    }

    fn parse(channel: &str, payload: &str) -> Option<Notification> {
        if channel == CHANGES_CHANNEL {
            return payload
                .parse()
                .ok()
                .map(|seq| Notification::Changes { seq });
        }
        let id = Uuid::parse_str(payload).ok()?;
        match channel {
            CLUSTER_STATUS_CHANNEL => Some(Notification::ClusterStatus(id)),
            CLUSTERS_CHANNEL => Some(Notification::Cluster(id)),
            SYNC_CHANNEL => Some(Notification::Sync(id)),
            _ => None,
        }
    }
}

/// A dedicated connection listening on some channels. Its client also serves the queries that
/// must run on this very connection (advisory locks, the listener's catch-up reads).
pub struct Listener {
    pub(super) client: tokio_postgres::Client,
    notifications: mpsc::UnboundedReceiver<Result<Notification>>,
}

impl Store {
    /// Send `notification` to every listener of its channel (outside any transaction; writes
    /// that must announce themselves atomically notify in their own transaction).
    pub async fn notify(&self, notification: Notification) -> Result<()> {
        let (channel, payload) = notification.encode();
        let conn = self.conn().await?;
        conn.execute("SELECT pg_notify($1, $2)", &[&channel, &payload])
            .await?;
        Ok(())
    }

    /// Open a dedicated connection for `role` and `LISTEN` on `channels`.
    pub async fn listen(&self, role: super::Role, channels: &[Channel]) -> Result<Listener> {
        let (client, mut connection) = self.dedicated(role).await?;
        let (tx, notifications) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                let forward = match message {
                    Ok(AsyncMessage::Notification(n)) => {
                        match Notification::parse(n.channel(), n.payload()) {
                            Some(notification) => Ok(notification),
                            None => continue,
                        }
                    }
                    Ok(_) => continue,
                    Err(e) => Err(Error::Query(e)),
                };
                let failed = forward.is_err();
                if tx.send(forward).is_err() || failed {
                    break;
                }
            }
        });
        let sql: String = channels
            .iter()
            .map(|c| format!("LISTEN {};", c.name()))
            .collect();
        client.batch_execute(&sql).await?;
        Ok(Listener {
            client,
            notifications,
        })
    }
}

impl Listener {
    /// The next notification; `Err` once the connection has failed or closed.
    pub async fn next(&mut self) -> Result<Notification> {
        match self.notifications.recv().await {
            Some(n) => n,
            None => Err(Error::ListenerClosed),
        }
    }

    /// A notification that has already arrived, without waiting.
    pub fn try_next(&mut self) -> Option<Result<Notification>> {
        self.notifications.try_recv().ok()
    }

    /// False once the connection is gone.
    pub fn is_alive(&self) -> bool {
        !self.client.is_closed()
    }

    /// [`read_changes`] on this connection.
    pub async fn read_changes(&self, after: i64, limit: i64) -> Result<Vec<ChangeRow>> {
        read_changes(&self.client, after, limit).await
    }

    /// [`log_bounds`] on this connection.
    pub async fn log_bounds(&self) -> Result<LogBounds> {
        log_bounds(&self.client).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_by_channel() {
        let id = Uuid::from_u128(7);
        assert_eq!(
            Notification::parse(CHANGES_CHANNEL, "42"),
            Some(Notification::Changes { seq: 42 })
        );
        assert_eq!(
            Notification::parse(CLUSTER_STATUS_CHANNEL, &id.to_string()),
            Some(Notification::ClusterStatus(id))
        );
        assert_eq!(
            Notification::parse(CLUSTERS_CHANNEL, &id.to_string()),
            Some(Notification::Cluster(id))
        );
        assert_eq!(
            Notification::parse(SYNC_CHANNEL, &id.to_string()),
            Some(Notification::Sync(id))
        );
    }

    #[test]
    fn every_notification_round_trips() {
        let id = Uuid::from_u128(9);
        for n in [
            Notification::Changes { seq: 7 },
            Notification::ClusterStatus(id),
            Notification::Cluster(id),
            Notification::Sync(id),
        ] {
            let (channel, payload) = n.encode();
            assert_eq!(Notification::parse(channel, &payload), Some(n));
        }
    }

    #[test]
    fn foreign_payloads_are_dropped() {
        assert_eq!(Notification::parse(CHANGES_CHANNEL, "x"), None);
        assert_eq!(Notification::parse(CLUSTERS_CHANNEL, "not-a-uuid"), None);
        assert_eq!(
            Notification::parse("other", &Uuid::from_u128(1).to_string()),
            None
        );
    }
}
