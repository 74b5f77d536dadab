//! [`Shared`]: the state of one running simulated cluster, shared by the server, the
//! controller, churn and the public handles.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::catalog::{Catalog, TypeId};
use super::controller::Notice;
use super::counts::CountState;
use super::events::EventLog;
use super::faults::FaultState;
use super::options::SimOptions;
use super::store::Store;
use super::tls::TlsMaterial;

/// Everything one simulated cluster shares between its tasks.
pub struct Shared {
    /// Options it was started with (read-only).
    pub opts: SimOptions,
    /// Served types (read-only).
    pub catalog: Arc<Catalog>,
    /// Objects and history (written by API writes, controller, churn, programmatic API).
    pub store: Store,
    /// Fault switches (written by `Faults`, read per request).
    pub faults: FaultState,
    /// Request counters (written per request, read by `RequestCounts`).
    pub counts: CountState,
    /// CA and certificates; `None` when serving plain HTTP.
    pub tls: Option<TlsMaterial>,
    /// Accepted bearer token.
    pub token: String,
    /// Bound address (set once after bind; read by discovery and kubeconfig).
    pub addr: OnceLock<SocketAddr>,
    /// Work queue of the built-in controller (written by API writes, read by the controller).
    pub controller: Option<mpsc::UnboundedSender<Notice>>,
    /// Events created by the simulated controllers, for the cap (written by `events::record`).
    pub events: EventLog,
    /// Cancelled on shutdown; every task of the cluster watches it.
    pub shutdown: CancellationToken,
}

impl Shared {
    /// Tell the controller an API client changed an object (no-op when it is disabled).
    pub fn notify_controller(&self, ty: TypeId, namespace: &str, name: &str) {
        if let Some(tx) = &self.controller {
            // The controller only stops at shutdown, when losing notices is fine.
            let _ = tx.send(Notice {
                ty,
                namespace: namespace.to_string(),
                name: name.to_string(),
            });
        }
    }

    /// `https://127.0.0.1:port` (or `http://`).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        match self.addr.get() {
            Some(a) if a.ip().is_unspecified() => format!("{scheme}://127.0.0.1:{}", a.port()),
            Some(a) => format!("{scheme}://{a}"),
            None => format!("{scheme}://127.0.0.1:0"),
        }
    }
}
