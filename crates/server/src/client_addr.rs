//! The client's address, computed once per request: the TCP peer, or — when the peer is one of
//! the `trusted_proxies` — the right-most `X-Forwarded-For` address that is not itself trusted
//! (SPEC section 5). Every consumer (failure throttle, audit, `lastUsedAt`'s IP, logs) reads the
//! `ClientAddr` extension the front (`front`) inserts; nothing else parses forwarding
//! headers to find a client.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::state::AppState;

/// The load balancers in front of Tessera, as CIDR ranges (`10.0.0.0/8`) or single addresses.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses each entry; an error names the entry that is neither an address nor a CIDR range.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| {
                let text = entry.as_ref().trim();
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        format!("{text:?} is neither an IP address nor a CIDR range (10.0.0.0/8)")
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies. IPv4-mapped IPv6 addresses count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` carrying `headers`.
    ///
    /// For an untrusted peer, the peer itself: what it claims in `X-Forwarded-For` is not
    /// believed. For a trusted one, `X-Forwarded-For` (every line, in order) is read from the
    /// right, skipping trusted addresses; the first other address is the client. A malformed
    /// entry stops the walk there (an attacker could have written anything to its left), and
    /// the last trusted hop is taken instead.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        let entries = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect::<Vec<_>>();
        for entry in entries.into_iter().rev() {
            let Some(ip) = parse_forwarded_ip(entry) else {
                break;
            };
            client = canonical(ip);
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[::1]:5678`), as some proxies write them.
fn parse_forwarded_ip(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse().ok())
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The request's client address (SPEC section 5), as a request extension and an extractor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address of a request: the middleware's answer, else the peer, else unspecified
    /// (requests built in-process carry neither).
    pub fn of(parts: &Parts) -> IpAddr {
        parts
            .extensions
            .get::<ClientAddr>()
            .map(|c| c.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| canonical(c.0.ip()))
            })
            .unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(ClientAddr(ClientAddr::of(parts)))
    }
}

/// The client address of a request from `peer`, as the outermost step of every request
/// computes it once and inserts it as `ClientAddr`.
pub fn of_peer(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> ClientAddr {
    ClientAddr(state.trusted_proxies.client_of(peer.ip(), headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let headers = xff(&["203.0.113.66"]);
        assert_eq!(
            trusted.client_of(ip("198.51.100.7"), &headers),
            ip("198.51.100.7")
        );
        let none = TrustedProxies::default();
        assert_eq!(none.client_of(ip("10.0.0.1"), &headers), ip("10.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1"]).unwrap();
        // The client forged the left-most entry; the balancer appended the real one.
        let headers = xff(&["6.6.6.6, 203.0.113.66", "10.1.2.3"]);
        assert_eq!(
            trusted.client_of(ip("127.0.0.1"), &headers),
            ip("203.0.113.66")
        );
        let with_port = xff(&["198.51.100.7:4711"]);
        assert_eq!(
            trusted.client_of(ip("10.0.0.9"), &with_port),
            ip("198.51.100.7")
        );
        let v6 = xff(&["[2001:db8::1]:80"]);
        assert_eq!(trusted.client_of(ip("10.0.0.9"), &v6), ip("2001:db8::1"));
    }

    #[test]
    fn a_chain_of_only_trusted_or_malformed_entries_stops_at_the_last_trusted_hop() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        assert_eq!(trusted.client_of(ip("10.0.0.1"), &xff(&[])), ip("10.0.0.1"));
        assert_eq!(
            trusted.client_of(ip("10.0.0.1"), &xff(&["10.0.0.2, 10.0.0.3"])),
            ip("10.0.0.2")
        );
        assert_eq!(
            trusted.client_of(ip("10.0.0.1"), &xff(&["203.0.113.5, garbage, 10.0.0.3"])),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn mapped_ipv6_peers_match_ipv4_ranges() {
        let trusted = TrustedProxies::parse(&["127.0.0.0/8"]).unwrap();
        let headers = xff(&["203.0.113.66"]);
        assert_eq!(
            trusted.client_of(ip("::ffff:127.0.0.1"), &headers),
            ip("203.0.113.66")
        );
    }

    #[test]
    fn entries_that_are_not_addresses_are_named() {
        let err = TrustedProxies::parse(&["10.0.0.0/8", "lb.internal"]).err();
        assert!(err.is_some_and(|e| e.contains("lb.internal")));
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
    }
}
