//! Who the client is behind a reverse proxy. `X-Forwarded-For` is believed only when the peer is
//! a trusted proxy (`FLUXO_TRUSTED_PROXIES`), and then only as far as trusted hops go: the client
//! is the right-most address that is not itself a trusted proxy. Anything a client writes into
//! the header arrives to the *left* of what its proxy appends, so it is never reached while the
//! hops to its right are trusted.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use http::HeaderMap;

/// The most `X-Forwarded-For` entries looked at, right to left: a chain of trusted proxies is
/// short, and the head size limit already bounds the header.
const MAX_HOPS: usize = 32;

/// An address range: `10.0.0.0/8`, `fd00::/8`, or one address (`192.0.2.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

/// A `FLUXO_TRUSTED_PROXIES` entry that is not an address or range.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an IP address or CIDR range (e.g. 10.0.0.0/8, 192.0.2.1, fd00::/8)")]
pub struct CidrError(String);

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let text = s.trim();
        let bad = || CidrError(text.to_string());
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let net = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { net, prefix })
    }
}

impl Cidr {
    /// True when `ip` (IPv4-mapped IPv6 counts as IPv4) is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(net.to_bits().into(), ip.to_bits().into(), self.prefix + 96)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(net.to_bits(), ip.to_bits(), self.prefix)
            }
            _ => false,
        }
    }
}

/// True when the first `bits` of `a` and `b` agree (IPv4 is compared in its low 32 bits).
fn same_prefix(a: u128, b: u128, bits: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
    a & mask == b & mask
}

/// The configured trusted proxies; empty (the default) trusts nobody.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[Cidr]>);

impl TrustedProxies {
    /// Trust `ranges`.
    pub fn new(ranges: Vec<Cidr>) -> TrustedProxies {
        TrustedProxies(ranges.into())
    }

    /// True when `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// right-most `X-Forwarded-For` entry that is not a trusted proxy. An unreadable entry
    /// stops the walk at the last trusted hop (the nearest address we can vouch for).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let values = headers.get_all("x-forwarded-for").iter().rev();
        let mut entries = values.flat_map(|v| match v.to_str() {
            Ok(text) => text.split(',').rev().map(parse_entry).collect::<Vec<_>>(),
            Err(_) => vec![None],
        });
        for _ in 0..MAX_HOPS {
            match entries.next() {
                Some(Some(ip)) => client = ip,
                Some(None) | None => break,
            }
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:443`,
/// `[2001:db8::1]:443`) or in brackets.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = IpAddr::from_str(entry)
        .ok()
        .or_else(|| SocketAddr::from_str(entry).ok().map(|s| s.ip()))
        .or_else(|| {
            let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
            IpAddr::from_str(inner).ok()
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(ranges: &[&str]) -> TrustedProxies {
        TrustedProxies::new(ranges.iter().map(|r| r.parse().unwrap()).collect())
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_parse_from_addresses_and_prefixes_and_refuse_the_rest() {
        assert!(" 10.0.0.0/8 ".parse::<Cidr>().is_ok());
        assert!("192.0.2.1".parse::<Cidr>().is_ok());
        assert!("fd00::/8".parse::<Cidr>().is_ok());
        assert!("0.0.0.0/0".parse::<Cidr>().is_ok());
        for bad in [
            "",
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "example.com",
            "10.0.0.0/x",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_range_contains_exactly_its_addresses() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.255.7")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(
            net.contains(ip("::ffff:10.1.0.1")),
            "IPv4-mapped IPv6 is IPv4"
        );
        assert!(!net.contains(ip("fd00::1")));
        let host: Cidr = "192.0.2.1".parse().unwrap();
        assert!(host.contains(ip("192.0.2.1")) && !host.contains(ip("192.0.2.2")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fdab::1")) && !v6.contains(ip("fe80::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("::1")));
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let h = headers(&["198.51.100.7"]);
        assert_eq!(
            TrustedProxies::default().client_ip(ip("127.0.0.1"), &h),
            ip("127.0.0.1")
        );
        let t = trusted(&["10.0.0.0/8"]);
        assert_eq!(t.client_ip(ip("192.0.2.9"), &h), ip("192.0.2.9"));
        assert_eq!(t.client_ip(ip("10.0.0.5"), &h), ip("198.51.100.7"));
        assert_eq!(
            t.client_ip(ip("10.0.0.5"), &HeaderMap::new()),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn the_client_is_the_right_most_address_that_is_not_a_trusted_proxy() {
        let t = trusted(&["10.0.0.0/8", "fd00::/8"]);
        let peer = ip("10.0.0.1");
        // What the client wrote itself (6.6.6.6) lies left of the first untrusted hop.
        let h = headers(&["6.6.6.6, 198.51.100.7, 10.9.9.9"]);
        assert_eq!(t.client_ip(peer, &h), ip("198.51.100.7"));
        // Several headers are one list, in order.
        let h = headers(&["6.6.6.6", "198.51.100.7", "fd00::2"]);
        assert_eq!(t.client_ip(peer, &h), ip("198.51.100.7"));
        // A chain of trusted hops only: the left-most is as far as anyone can tell.
        let h = headers(&["10.3.3.3, 10.2.2.2"]);
        assert_eq!(t.client_ip(peer, &h), ip("10.3.3.3"));
    }

    #[test]
    fn entries_may_carry_ports_or_brackets_and_garbage_stops_the_walk() {
        let t = trusted(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        let h = headers(&["198.51.100.7:5123"]);
        assert_eq!(t.client_ip(peer, &h), ip("198.51.100.7"));
        let h = headers(&["[2001:db8::7]:443"]);
        assert_eq!(t.client_ip(peer, &h), ip("2001:db8::7"));
        let h = headers(&["[2001:db8::8]"]);
        assert_eq!(t.client_ip(peer, &h), ip("2001:db8::8"));
        let h = headers(&["198.51.100.7, unknown, 10.4.4.4"]);
        assert_eq!(t.client_ip(peer, &h), ip("10.4.4.4"));
        let h = headers(&["198.51.100.7, "]);
        assert_eq!(t.client_ip(peer, &h), peer);
    }

    #[test]
    fn an_ipv4_mapped_peer_is_matched_and_reported_as_ipv4() {
        let t = trusted(&["127.0.0.1"]);
        let h = headers(&["198.51.100.7"]);
        assert_eq!(t.client_ip(ip("::ffff:127.0.0.1"), &h), ip("198.51.100.7"));
        assert_eq!(
            TrustedProxies::default().client_ip(ip("::ffff:192.0.2.1"), &HeaderMap::new()),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn a_long_chain_of_trusted_hops_is_walked_only_so_far() {
        let t = trusted(&["10.0.0.0/8"]);
        let chain = vec!["10.0.0.9"; 100].join(", ");
        let h = headers(&[&format!("198.51.100.7, {chain}")]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.9"));
    }
}
