//! The outbound address policy: may this server open a connection to this IP address on a
//! user's behalf? Cluster apiservers use it today, webhook sinks will tomorrow. The answer is
//! given on the *resolved* address at connect time ([`connect`]), so a name whose DNS answer
//! changes after it was accepted is still refused.
//!
//! Refused by default, because reaching them from the server hands its identity or the
//! caller's credentials to something that is not an apiserver: the unspecified and "this
//! network" addresses (0.0.0.0/8, `::`, which reach the server itself), link-local
//! (169.254.0.0/16, fe80::/10), cloud metadata services (169.254.169.254, fd00:ec2::254,
//! Alibaba's 100.100.100.200), multicast and broadcast; also in their IPv4-mapped
//! (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) forms. Loopback and private ranges stay
//! allowed: kind and k3d clusters listen on 127.0.0.1, real ones on RFC 1918 and ULA addresses.
//!
//! Operators tighten it with `FLUXO_EGRESS_DENY` (always wins) and `FLUXO_EGRESS_ALLOW` (when
//! set, only those networks). An allow entry lifts a built-in refusal only when it lies inside
//! the refused range (`169.254.10.0/24` opens that subnet); broad entries such as `0.0.0.0/0`
//! never open metadata or link-local addresses by accident.

pub mod connect;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

pub use connect::{Guarded, Resolver, check_host, http_connector, refusal_in};

/// Errors of the policy's settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An entry of `FLUXO_EGRESS_ALLOW` or `FLUXO_EGRESS_DENY` is not an address or a network.
    #[error(
        "{setting}: {entry:?} is not an IP address or a CIDR network (e.g. 10.0.0.0/8, fd00::/8)"
    )]
    BadEntry {
        /// The setting it came from.
        setting: &'static str,
        /// The entry as written.
        entry: String,
    },
    /// A network with bits set beyond its prefix: probably a typo, so it is not guessed at.
    #[error("{setting}: {entry:?} has address bits set beyond its prefix; did you mean {network}?")]
    HostBits {
        /// The setting it came from.
        setting: &'static str,
        /// The entry as written.
        entry: String,
        /// The network it would mean.
        network: IpNet,
    },
}

/// Why an address is refused. Every variant's text is ours: none comes from a remote end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A cloud metadata service, which hands out the server's cloud credentials.
    Metadata,
    /// `0.0.0.0/8` or `::`: connecting there reaches this host.
    Unspecified,
    /// Link-local: never an apiserver or webhook, often a node-local service.
    LinkLocal,
    /// Multicast.
    Multicast,
    /// The IPv4 limited broadcast address.
    Broadcast,
    /// In `FLUXO_EGRESS_DENY`.
    Denied(IpNet),
    /// `FLUXO_EGRESS_ALLOW` is set and does not contain it.
    NotAllowed,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Metadata => f.write_str("a cloud metadata service"),
            Reason::Unspecified => f.write_str("an unspecified address (this host)"),
            Reason::LinkLocal => f.write_str("link-local"),
            Reason::Multicast => f.write_str("multicast"),
            Reason::Broadcast => f.write_str("broadcast"),
            Reason::Denied(net) => write!(f, "in FLUXO_EGRESS_DENY ({net})"),
            Reason::NotAllowed => f.write_str("not in FLUXO_EGRESS_ALLOW"),
        }
    }
}

/// An address the policy refuses. Carried through the HTTP client's error chain (see
/// [`refusal_in`]), so the failure names the address and the setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("address {addr} is refused by the outbound address policy (FLUXO_EGRESS_*): {reason}")]
pub struct Refused {
    /// The address as resolved or written.
    pub addr: IpAddr,
    /// Why.
    pub reason: Reason,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> IpNet {
    // Every prefix below is ≤ 32, for which `Ipv4Net::new_assert` cannot panic.
    IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix))
}

const fn v6(segments: [u16; 8], prefix: u8) -> IpNet {
    let [a, b, c, d, e, f, g, h] = segments;
    // Every prefix below is ≤ 128, for which `Ipv6Net::new_assert` cannot panic.
    IpNet::V6(Ipv6Net::new_assert(
        Ipv6Addr::new(a, b, c, d, e, f, g, h),
        prefix,
    ))
}

/// The built-in refusals, most specific first so the reason names the metadata service.
const BUILT_IN: [(IpNet, Reason); 10] = [
    (v4(169, 254, 169, 254, 32), Reason::Metadata), // AWS, GCP, Azure, OCI, DigitalOcean
    (v4(100, 100, 100, 200, 32), Reason::Metadata), // Alibaba Cloud
    (
        v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128),
        Reason::Metadata,
    ), // AWS over IPv6
    (v4(0, 0, 0, 0, 8), Reason::Unspecified),
    (v4(169, 254, 0, 0, 16), Reason::LinkLocal),
    (v4(224, 0, 0, 0, 4), Reason::Multicast),
    (v4(255, 255, 255, 255, 32), Reason::Broadcast),
    (v6([0; 8], 128), Reason::Unspecified),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), Reason::LinkLocal),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Reason::Multicast),
];

/// The well-known NAT64 prefix: `64:ff9b::a.b.c.d` is translated to `a.b.c.d` by a gateway.
const NAT64: IpNet = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);

/// The policy: built-in refusals plus the operator's lists. Cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
}

impl Policy {
    /// A policy from parsed lists (see the module docs for how they combine).
    pub fn new(allow: Vec<IpNet>, deny: Vec<IpNet>) -> Policy {
        Policy { allow, deny }
    }

    /// A policy from the settings' text: addresses or CIDR networks; blank entries are ignored.
    pub fn from_settings(allow: &[String], deny: &[String]) -> Result<Policy, Error> {
        Ok(Policy {
            allow: parse_list("FLUXO_EGRESS_ALLOW", allow)?,
            deny: parse_list("FLUXO_EGRESS_DENY", deny)?,
        })
    }

    /// May the server connect to `addr`?
    pub fn check(&self, addr: IpAddr) -> Result<(), Refused> {
        let refused = |reason| Err(Refused { addr, reason });
        // `::ffff:a.b.c.d` is a.b.c.d on a dual-stack socket: judge it as such.
        let ip = addr.to_canonical();
        for candidate in [Some(ip), nat64_target(ip)].into_iter().flatten() {
            if let Some(net) = self.deny.iter().find(|n| n.contains(&candidate)) {
                return refused(Reason::Denied(*net));
            }
            if let Some((range, reason)) = BUILT_IN.iter().find(|(n, _)| n.contains(&candidate))
                && !self
                    .allow
                    .iter()
                    .any(|a| a.contains(&candidate) && range.contains(a))
            {
                return refused(*reason);
            }
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|n| n.contains(&ip)) {
            return refused(Reason::NotAllowed);
        }
        Ok(())
    }
}

/// The IPv4 address a NAT64 gateway would reach for `ip`, if it has the well-known prefix.
fn nat64_target(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V6(v6) if NAT64.contains(&ip) => {
            let [.., a, b, c, d] = v6.octets();
            Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
        }
        _ => None,
    }
}

fn parse_list(setting: &'static str, entries: &[String]) -> Result<Vec<IpNet>, Error> {
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|entry| parse_entry(setting, entry))
        .collect()
}

fn parse_entry(setting: &'static str, entry: &str) -> Result<IpNet, Error> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    let net: IpNet = entry.parse().map_err(|_| Error::BadEntry {
        setting,
        entry: entry.to_string(),
    })?;
    if net.trunc() != net {
        return Err(Error::HostBits {
            setting,
            entry: entry.to_string(),
            network: net.trunc(),
        });
    }
    Ok(net)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
