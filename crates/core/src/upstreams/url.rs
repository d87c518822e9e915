//! A model server's URL in its one accepted spelling (SPEC section 6):
//! `http[s]://host[:port][/path]`, scheme and host in lower case, the host a DNS name, a
//! dotted-quad IPv4 address or a bracketed IPv6 address in canonical form; no user info,
//! percent-encoding, query or fragment. Spellings that some parser or resolver reads as another
//! host (`0x7f.1`, `2130706433`, `0177.0.0.1`, `[::ffff:127.0.0.1]`, `host.`, `user@host`) are
//! refused, never normalised, so that what is checked is what is connected to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::names::FieldError;

/// The field every refusal names.
pub const FIELD: &str = "upstreamUrl";

/// The longest URL accepted (bytes).
const MAX_LEN: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// 80 or 443 (RFC 9110 section 4.2).
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// Exactly `http` or `https`, lower case.
    pub(super) fn parse(raw: &str) -> Result<Scheme, String> {
        match raw {
            "http" => Ok(Scheme::Http),
            "https" => Ok(Scheme::Https),
            other if other.eq_ignore_ascii_case("http") || other.eq_ignore_ascii_case("https") => {
                Err("write the scheme in lower case (http:// or https://)".into())
            }
            other => Err(format!(
                "the scheme {other:?} is not allowed: only http:// and https://"
            )),
        }
    }
}

/// Where a URL points: a DNS name (resolved when Tessera connects) or an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// Lower-case labels of `[a-z0-9-]`, no trailing dot.
    Name(String),
    Ip(IpAddr),
}

/// A model server's URL, parsed once at the edge; `as_str` is its canonical text, which is what
/// is stored, checked and connected to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamUrl {
    text: String,
    scheme: Scheme,
    host: Host,
    port: u16,
}

impl UpstreamUrl {
    /// Parses `raw` (surrounding spaces and one trailing '/' are dropped). Errors name
    /// `upstreamUrl` and what is wrong.
    pub fn parse(raw: &str) -> Result<UpstreamUrl, FieldError> {
        parse(raw).map_err(|why| FieldError::new(FIELD, format!("{raw:?}: {why}")))
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port connected to: the one written, else the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for UpstreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse(raw: &str) -> Result<UpstreamUrl, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    if text.len() > MAX_LEN {
        return Err(format!("must be at most {MAX_LEN} characters"));
    }
    forbidden_characters(text)?;
    let (scheme, rest) = text
        .split_once("://")
        .ok_or("must start with http:// or https://")?;
    let scheme = Scheme::parse(scheme)?;
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let (host_text, port_text) = split_port(authority)?;
    let host = parse_host(host_text)?;
    let port = match port_text {
        Some(p) => parse_port(p)?,
        None => scheme.default_port(),
    };
    let path = parse_path(path)?;
    let port_part = port_text.map(|p| format!(":{p}")).unwrap_or_default();
    Ok(UpstreamUrl {
        text: format!("{}://{host_text}{port_part}{path}", scheme.as_str()),
        scheme,
        host,
        port,
    })
}

/// Printable ASCII only, and none of the characters that smuggle another host past a check.
pub(super) fn forbidden_characters(text: &str) -> Result<(), String> {
    if let Some(c) = text.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "may only contain printable ASCII characters without spaces; found {c:?}"
        ));
    }
    for (c, why) in [
        ('@', "user info ('@') is not allowed"),
        ('%', "percent-encoding ('%') is not allowed"),
        ('?', "a query ('?') is not allowed"),
        ('#', "a fragment ('#') is not allowed"),
        ('\\', "backslashes are not allowed"),
    ] {
        if text.contains(c) {
            return Err(why.into());
        }
    }
    Ok(())
}

/// `host` and the text after its `:`, if any; IPv6 addresses in brackets.
pub(super) fn split_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority
            .find(']')
            .ok_or("an IPv6 address needs its closing ']'")?;
        let (host, after) = authority.split_at(close + 1);
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(format!("unexpected {after:?} after the address")),
        }
    } else {
        match authority.split_once(':') {
            Some((_, port)) if port.contains(':') => {
                return Err("an IPv6 address must be written in brackets: [2001:db8::1]".into());
            }
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    Ok((host, port))
}

/// 1 to 65535, decimal, no sign or leading zero.
pub(super) fn parse_port(text: &str) -> Result<u16, String> {
    let bad = || format!("the port {text:?} must be a number from 1 to 65535");
    if text.is_empty() || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse::<u16>().map_err(|_| bad())
}

/// A host in its one spelling: a canonical address, or a DNS name that no resolver reads as a
/// number.
pub(super) fn parse_host(text: &str) -> Result<Host, String> {
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return parse_ipv6(inner).map(IpAddr::V6).map(Host::Ip);
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_ipv4(text).map(IpAddr::V4).map(Host::Ip);
    }
    check_name(text)?;
    Ok(Host::Name(text.to_string()))
}

fn parse_ipv4(text: &str) -> Result<Ipv4Addr, String> {
    text.parse::<Ipv4Addr>()
        .ok()
        .filter(|ip| ip.to_string() == text)
        .ok_or_else(|| {
            format!("{text:?} is not an IPv4 address written as four decimal numbers a.b.c.d without leading zeros")
        })
}

fn parse_ipv6(text: &str) -> Result<Ipv6Addr, String> {
    let ip = text
        .parse::<Ipv6Addr>()
        .map_err(|_| format!("[{text}] is not an IPv6 address"))?;
    if embeds_ipv4(ip) {
        return Err(format!(
            "[{text}] embeds an IPv4 address: write the IPv4 address itself, a.b.c.d"
        ));
    }
    if ip.to_string() != text {
        return Err(format!(
            "write the IPv6 address in its canonical form: [{ip}]"
        ));
    }
    Ok(ip)
}

/// IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) forms.
fn embeds_ipv4(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && ip.to_bits() > 1))
}

/// A DNS name: lower-case labels of letters, digits and '-', 1–63 each, 253 in all, no
/// trailing dot, and a last label that is not a number (resolvers read `0x7f.1`, `2130706433`
/// or `127.1` as addresses).
pub(super) fn check_name(name: &str) -> Result<(), String> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "write the host in lower case: {:?}",
            name.to_ascii_lowercase()
        ));
    }
    if name.ends_with('.') {
        return Err(format!("the host {name:?} must not end with a dot"));
    }
    if name.len() > 253 {
        return Err("the host name is longer than 253 characters".into());
    }
    for label in name.split('.') {
        let valid = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return Err(format!(
                "the host {name:?} must be a DNS name: labels of 1 to 63 lower-case letters, digits and '-' (not first or last), separated by single dots"
            ));
        }
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last
            .strip_prefix("0x")
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric {
        return Err(format!(
            "the host {name:?} reads as a numeric address: write an IPv4 address as four decimal numbers a.b.c.d"
        ));
    }
    Ok(())
}

/// The path: '/'-separated segments of letters, digits, '-', '.', '_' and '~', none empty,
/// `.` or `..`; one trailing '/' is dropped.
fn parse_path(path: &str) -> Result<&str, String> {
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.is_empty() {
        return Ok(path);
    }
    for segment in path.split('/').skip(1) {
        let valid = !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !valid {
            return Err(format!(
                "the path {path:?} may only hold segments of letters, digits, '-', '.', '_' and '~' between single '/' (no '.' or '..')"
            ));
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> UpstreamUrl {
        UpstreamUrl::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn plain_spellings_parse_to_their_canonical_text() {
        let u = ok(" http://127.0.0.1:9100/ ");
        assert_eq!(u.as_str(), "http://127.0.0.1:9100");
        assert_eq!(u.host(), &Host::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(u.port(), 9100);
        assert_eq!(ok("http://model-1.models.internal").port(), 80);
        assert_eq!(ok("https://a.models.internal").port(), 443);
        assert_eq!(
            ok("http://[2001:db8::1]:8080/v1/predict").as_str(),
            "http://[2001:db8::1]:8080/v1/predict"
        );
        assert_eq!(ok("http://localhost:1/Score_2~x").port(), 1);
    }

    #[test]
    fn every_trick_spelling_is_refused_naming_the_field() {
        for raw in [
            "",
            "127.0.0.1:9100",
            "ftp://127.0.0.1",
            "file:///etc/passwd",
            "gopher://127.0.0.1:70",
            "HTTP://127.0.0.1",
            "http://LOCALHOST",
            "http://allowed@evil",
            "http://allowed:9100@evil:80",
            "http://127.0.0.1:9100#@evil",
            "http://127.0.0.1:9100?x=1",
            "http://127.0.0.1:9100/a?b",
            "http://%31%32%37.0.0.1",
            "http://127.0.0.1%2f@evil",
            "http://0x7f.1",
            "http://0x7f000001",
            "http://2130706433",
            "http://017700000001",
            "http://0177.0.0.1",
            "http://127.1",
            "http://127.0.0.1.",
            "http://localhost.",
            "http://[::ffff:127.0.0.1]",
            "http://[::ffff:7f00:1]",
            "http://[::127.0.0.1]",
            "http://[0:0:0:0:0:0:0:1]",
            "http://[fe80::1%25eth0]",
            "http://::1",
            "http://127.0.0.1:0",
            "http://127.0.0.1:65536",
            "http://127.0.0.1:99999",
            "http://127.0.0.1:-1",
            "http://127.0.0.1:+80",
            "http://127.0.0.1:080",
            "http://127.0.0.1:",
            "http://:80",
            "http:///x",
            "http://127.0.0.1/../admin",
            "http://127.0.0.1//x",
            "http://127.0.0.1\\@evil",
            "http://exa mple",
            "http://ex\u{3002}ample",
            "http://under_score.internal",
            "http://-lead.internal",
        ] {
            let err = UpstreamUrl::parse(raw).expect_err(raw);
            assert_eq!(err.field, FIELD, "{raw}");
        }
    }
}
