//! Address classes for model server connections: addresses never connected to (link-local —
//! cloud metadata lives at 169.254.169.254 —, unspecified, multicast, broadcast; also when
//! embedded in an IPv6 address), and the globally routed ones a name may resolve to without an
//! address rule. IANA special-purpose registries (RFC 6890 and updates).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4-mapped IPv6 addresses as the IPv4 address they reach.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Why `ip` is never a model server, if it is not: link-local (169.254.0.0/16, fe80::/10, and
/// IPv4 link-local inside IPv4-mapped, IPv4-compatible, NAT64 or 6to4 addresses), unspecified
/// (0.0.0.0/8, `::` — Linux connects those to itself), multicast or broadcast.
pub fn never(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => never_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => never_v4(v4),
            None if v6.is_unspecified() => Some("an unspecified address"),
            None if (v6.segments()[0] & 0xffc0) == 0xfe80 => Some("a link-local address"),
            None if v6.is_multicast() => Some("a multicast address"),
            None => None,
        },
    }
}

fn never_v4(v4: Ipv4Addr) -> Option<&'static str> {
    if v4.is_link_local() {
        Some("a link-local address")
    } else if v4.octets()[0] == 0 {
        Some("an unspecified address")
    } else if v4.is_multicast() {
        Some("a multicast address")
    } else if v4.is_broadcast() {
        Some("the broadcast address")
    } else {
        None
    }
}

/// The IPv4 address inside an IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) or 6to4
/// (`2002::/16`) address.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::from(((u32::from(s[6])) << 16) | u32::from(s[7]));
    let compatible = s[..6] == [0; 6] && v6.to_bits() > 1;
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if compatible || nat64 {
        Some(low)
    } else if s[0] == 0x2002 {
        Some(Ipv4Addr::from(((u32::from(s[1])) << 16) | u32::from(s[2])))
    } else {
        None
    }
}

/// Whether `ip` is routed on the public Internet: not loopback, private, shared (CGNAT),
/// documentation, benchmarking, reserved, unique-local or any other special-purpose range.
/// A name may resolve to such an address without an address rule; anything else needs one.
pub fn is_global(ip: IpAddr) -> bool {
    if never(ip).is_some() {
        return false;
    }
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && (c == 0 || c == 2))
                || (a == 198 && (b == 18 || b == 19))
                || (a == 198 && b == 51 && c == 100)
                || (a == 203 && b == 0 && c == 113)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // Global unicast is 2000::/3, less documentation, 6to4 and the IETF block (Teredo).
            (s[0] & 0xe000) == 0x2000
                && !(s[0] == 0x2001 && s[1] == 0x0db8)
                && s[0] != 0x2002
                && !(s[0] == 0x2001 && s[1] < 0x0200)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn link_local_is_never_allowed_in_any_spelling() {
        for s in [
            "169.254.169.254",
            "169.254.0.1",
            "::ffff:169.254.169.254",
            "::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "fe80::1",
            "febf::1",
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
        ] {
            assert!(never(ip(s)).is_some(), "{s}");
            assert!(!is_global(ip(s)), "{s}");
        }
        for s in [
            "127.0.0.1",
            "10.8.1.2",
            "::1",
            "fd00::1",
            "8.8.8.8",
            "fec0::1",
        ] {
            assert!(never(ip(s)).is_none(), "{s}");
        }
    }

    #[test]
    fn only_publicly_routed_addresses_are_global() {
        for s in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_global(ip(s)), "{s}");
        }
        for s in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "203.0.113.9",
            "240.0.0.1",
            "::1",
            "fd00::1",
            "fec0::1",
            "2001:db8::1",
            "2001::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_global(ip(s)), "{s}");
        }
    }
}
