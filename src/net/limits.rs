//! The connection caps: at most `max` connections at once, and at most `per_ip` from one client
//! address. A connection is admitted at accept time with a [`Permit`] that it holds until its
//! socket closes (for a WebSocket, until the stream ends), so the count is exactly the open
//! sockets. Refusing costs one lock and a `close`, before any byte is read.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::metrics::{Counter, Family, Gauge, Label, Metrics};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The server holds `max` connections.
    Global,
    /// This address holds `per_ip` connections.
    PerIp,
}

/// Counts of open connections.
#[derive(Debug, Default)]
struct Open {
    total: usize,
    /// Open connections per address; an address leaves the map with its last connection, so
    /// the map never holds more than `total` entries.
    by_ip: HashMap<IpAddr, usize>,
}

/// The caps and the counts they are checked against.
#[derive(Debug)]
pub struct Caps {
    max: usize,
    per_ip: usize,
    /// Written by [`Caps::admit`] (accept loop) and [`Permit`]'s drop (connection tasks).
    open: Mutex<Open>,
    gauge: Gauge,
    refused_global: Counter,
    refused_per_ip: Counter,
}

impl Caps {
    /// Caps of `max` connections in all and `per_ip` per client address (each at least 1).
    pub fn new(max: usize, per_ip: usize, metrics: &Metrics) -> Arc<Caps> {
        let refused: Family<Label, Counter> = metrics.register(
            "fluxo_http_connections_refused_total",
            "Connections closed at accept because a connection cap was reached.",
            Family::default(),
        );
        let refused = |reason| refused.get_or_create_owned(&[("reason", reason)]);
        Arc::new(Caps {
            max: max.max(1),
            per_ip: per_ip.max(1),
            open: Mutex::default(),
            gauge: metrics.gauge(
                "fluxo_http_connections",
                "Open client connections (WebSocket streams included).",
            ),
            refused_global: refused("global"),
            refused_per_ip: refused("per_ip"),
        })
    }

    /// Admit a connection from `ip`; `exempt` addresses (trusted proxies, which carry many
    /// clients) skip the per-address cap but not the global one.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, exempt: bool) -> Result<Permit, Refused> {
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.total >= self.max {
            self.refused_global.inc();
            return Err(Refused::Global);
        }
        let from_ip = open.by_ip.get(&ip).copied().unwrap_or(0);
        if !exempt && from_ip >= self.per_ip {
            self.refused_per_ip.inc();
            return Err(Refused::PerIp);
        }
        open.total += 1;
        open.by_ip.insert(ip, from_ip + 1);
        self.gauge.inc();
        Ok(Permit {
            caps: self.clone(),
            ip,
        })
    }

    /// Open connections: (in all, from `ip`).
    pub fn open(&self, ip: IpAddr) -> (usize, usize) {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let from_ip = open.by_ip.get(&ip.to_canonical()).copied().unwrap_or(0);
        (open.total, from_ip)
    }

    fn release(&self, ip: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                open.by_ip.remove(&ip);
            }
        }
        self.gauge.dec();
    }
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Permit {
    caps: Arc<Caps>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.caps.release(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_over_its_cap_is_refused_while_others_get_in() {
        let metrics = Metrics::default();
        let caps = Caps::new(10, 2, &metrics);
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        let held = [caps.admit(a, false).unwrap(), caps.admit(a, false).unwrap()];
        assert_eq!(caps.admit(a, false).unwrap_err(), Refused::PerIp);
        assert!(
            caps.admit(b, false).is_ok(),
            "another address is not affected"
        );
        drop(held);
        assert_eq!(caps.open(a), (0, 0), "closing frees the places");
        assert!(caps.admit(a, false).is_ok());
        assert!(
            metrics
                .render()
                .contains("fluxo_http_connections_refused_total{reason=\"per_ip\"} 1")
        );
    }

    #[test]
    fn the_global_cap_holds_for_every_address_including_exempt_ones() {
        let metrics = Metrics::default();
        let caps = Caps::new(3, 2, &metrics);
        let proxy = ip("10.0.0.1");
        let held: Vec<_> = (0..3).map(|_| caps.admit(proxy, true).unwrap()).collect();
        assert_eq!(
            caps.open(proxy),
            (3, 3),
            "an exempt address passes its own cap"
        );
        assert_eq!(
            caps.admit(ip("192.0.2.9"), false).unwrap_err(),
            Refused::Global
        );
        assert_eq!(caps.admit(proxy, true).unwrap_err(), Refused::Global);
        assert!(metrics.render().contains("fluxo_http_connections 3"));
        drop(held);
        assert!(metrics.render().contains("fluxo_http_connections 0"));
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_their_ipv4_address() {
        let caps = Caps::new(10, 1, &Metrics::default());
        let _held = caps.admit(ip("::ffff:192.0.2.1"), false).unwrap();
        assert_eq!(
            caps.admit(ip("192.0.2.1"), false).unwrap_err(),
            Refused::PerIp
        );
    }
}
