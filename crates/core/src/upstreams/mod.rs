//! The model servers Tessera may call (SPEC section 6): the operator's `[models]
//! allowed_upstreams` rules — scheme, host (a name, a `*.` suffix, an address or a CIDR range)
//! and an optional port — and the checks made with them: of a version's URL when it is deployed
//! and before every call, and of every address a connection would reach once its name is
//! resolved. Decides only: resolving and connecting is the server's model client.

pub mod address;
pub mod url;

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

pub use self::url::{FIELD, Host, Scheme, UpstreamUrl};
use crate::names::FieldError;

/// How an operator allows model servers; quoted in every refusal that says how to allow one.
pub const SETTING: &str = "[models] allowed_upstreams";

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostRule {
    /// Exactly this name.
    Name(String),
    /// Any name ending in this suffix, which starts with '.'.
    Suffix(String),
    /// Any address in this range (a single address is a /32 or /128).
    Net(IpNet),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    scheme: Scheme,
    host: HostRule,
    /// Any port when `None`.
    port: Option<u16>,
}

impl Rule {
    fn port_matches(&self, port: u16) -> bool {
        self.port.is_none_or(|p| p == port)
    }

    fn matches(&self, url: &UpstreamUrl) -> bool {
        let host = match (&self.host, url.host()) {
            (HostRule::Name(rule), Host::Name(name)) => rule == name,
            (HostRule::Suffix(suffix), Host::Name(name)) => name.ends_with(suffix.as_str()),
            (HostRule::Net(net), Host::Ip(ip)) => net.contains(&address::canonical(*ip)),
            _ => false,
        };
        host && self.scheme == url.scheme() && self.port_matches(url.port())
    }

    /// Whether this address rule covers `ip` on `port`, whatever the scheme spoken.
    fn covers(&self, ip: IpAddr, port: u16) -> bool {
        matches!(&self.host, HostRule::Net(net) if net.contains(&ip)) && self.port_matches(port)
    }
}

/// The allow-list; empty (nothing can be deployed or called) unless the operator configures it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedUpstreams {
    rules: Vec<Rule>,
}

/// Why a model server, or an address it resolved to, may not be called.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "no model server is allowed yet: an administrator must list the allowed ones in {SETTING} (TOML, e.g. allowed_upstreams = [\"http://10.8.0.0/16\", \"https://*.models.internal\"]) or TESSERA_MODELS_ALLOWED_UPSTREAMS (comma-separated)"
    )]
    NoneAllowed,
    #[error("is not a model server allowed by {SETTING}; ask an administrator to allow it")]
    NotListed,
    #[error("{0} is {1}, never a model server, whatever {SETTING} says")]
    Never(IpAddr, &'static str),
    #[error("{0} is an internal address that no address rule of {SETTING} allows")]
    Internal(IpAddr),
}

impl Refusal {
    /// The refusal of `url` at deployment: a 400 naming `upstreamUrl` and the setting.
    pub fn for_field(&self, url: &UpstreamUrl) -> FieldError {
        let message = match self {
            Refusal::NoneAllowed => self.to_string(),
            Refusal::NotListed => format!("{url} {self}"),
            Refusal::Never(..) | Refusal::Internal(_) => format!("{url}: {self}"),
        };
        FieldError::new(FIELD, message)
    }
}

impl AllowedUpstreams {
    /// Parses the operator's entries: `scheme://host[:port]` where host is a name
    /// (`models.internal`), a suffix (`*.models.internal`), an address (`127.0.0.1`, `[::1]`) or
    /// a CIDR range (`10.8.0.0/16`, `[fd00::]/8`), optionally followed by `:port`. The error
    /// names the entry and the form expected.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowedUpstreams, String> {
        let rules = entries
            .iter()
            .map(|entry| {
                let raw = entry.as_ref();
                parse_rule(raw).map_err(|why| {
                    format!(
                        "{raw:?}: {why}; write scheme://host[:port] with host a name, *.suffix, an address or a CIDR range, e.g. \"http://10.8.0.0/16\""
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(AllowedUpstreams { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `url` may be deployed and called: a rule matches its scheme, host and port, and
    /// its address (when it is one) is not one that is never called.
    pub fn check(&self, url: &UpstreamUrl) -> Result<(), Refusal> {
        if self.rules.is_empty() {
            return Err(Refusal::NoneAllowed);
        }
        if let Host::Ip(ip) = url.host()
            && let Some(why) = address::never(*ip)
        {
            return Err(Refusal::Never(*ip, why));
        }
        if self.rules.iter().any(|r| r.matches(url)) {
            Ok(())
        } else {
            Err(Refusal::NotListed)
        }
    }

    /// Whether a connection for `url` (already checked) may go to `ip`, an address its name
    /// resolved to (or its own address): never to the addresses of `address::never`; to an
    /// address an address rule covers on that port; and, for a name, to a globally routed
    /// address. So a name allowed by a name or suffix rule cannot be pointed (DNS rebinding) at
    /// loopback, private or metadata addresses the operator did not list.
    pub fn check_address(&self, url: &UpstreamUrl, ip: IpAddr) -> Result<(), Refusal> {
        let ip = address::canonical(ip);
        if let Some(why) = address::never(ip) {
            return Err(Refusal::Never(ip, why));
        }
        if self.rules.iter().any(|r| r.covers(ip, url.port())) {
            return Ok(());
        }
        match url.host() {
            Host::Name(_) if address::is_global(ip) => Ok(()),
            _ => Err(Refusal::Internal(ip)),
        }
    }
}

impl fmt::Display for AllowedUpstreams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rule(s)", self.rules.len())
    }
}

fn parse_rule(raw: &str) -> Result<Rule, String> {
    let text = raw.trim().to_ascii_lowercase();
    url::forbidden_characters(&text)?;
    let (scheme, rest) = text
        .split_once("://")
        .ok_or("must start with http:// or https://")?;
    let scheme = Scheme::parse(scheme)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    // `host[/prefix][:port]`, the host bracketed when IPv6.
    let (host_part, port) = if rest.starts_with('[') {
        let close = rest
            .find(']')
            .ok_or("an IPv6 address needs its closing ']'")?;
        let (_, after) = rest.split_at(close + 1);
        match after.rsplit_once(':') {
            Some((prefix, port)) if !prefix.contains(']') => {
                (&rest[..close + 1 + prefix.len()], Some(port))
            }
            _ => (rest, None),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    let port = port.map(url::parse_port).transpose()?;
    let host = match host_part.split_once('/') {
        Some((address, prefix)) => HostRule::Net(parse_range(address, prefix)?),
        None => match host_part.strip_prefix("*.") {
            Some(suffix) => {
                url::check_name(suffix)?;
                HostRule::Suffix(format!(".{suffix}"))
            }
            None => match url::parse_host(host_part)? {
                Host::Name(name) => HostRule::Name(name),
                Host::Ip(ip) => HostRule::Net(IpNet::from(ip)),
            },
        },
    };
    if let HostRule::Net(net) = &host {
        let single = net.prefix_len() == net.max_prefix_len();
        if let Some(why) = address::never(net.addr()).filter(|_| single) {
            return Err(format!("{} is {why}, never a model server", net.addr()));
        }
        if LINK_LOCAL
            .iter()
            .any(|ll| ll.parse::<IpNet>().is_ok_and(|ll| ll.contains(net)))
        {
            return Err(format!(
                "{net} is link-local (cloud metadata), never a model server"
            ));
        }
    }
    Ok(Rule { scheme, host, port })
}

/// Link-local ranges: a rule inside one would allow nothing.
const LINK_LOCAL: [&str; 2] = ["169.254.0.0/16", "fe80::/10"];

/// `address/prefix` with no bits set past the prefix.
fn parse_range(address: &str, prefix: &str) -> Result<IpNet, String> {
    let ip = match url::parse_host(address)? {
        Host::Ip(ip) => ip,
        Host::Name(_) => return Err(format!("{address:?} before '/' must be an address")),
    };
    let bits: u8 = prefix
        .parse()
        .ok()
        .filter(|_| prefix.bytes().all(|b| b.is_ascii_digit()))
        .filter(|_| prefix == "0" || !prefix.starts_with('0'))
        .ok_or_else(|| format!("the prefix length {prefix:?} is not a number"))?;
    let net = IpNet::new(ip, bits).map_err(|_| format!("the prefix length /{bits} is too long"))?;
    if net.trunc() != net {
        return Err(format!(
            "{net} has bits set past the prefix; did you mean {}?",
            net.trunc()
        ));
    }
    Ok(net)
}

#[cfg(test)]
mod tests;
