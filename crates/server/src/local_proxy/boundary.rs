//! The local proxy's boundary: it answers software on this machine, never a web page the user
//! visits. A request must be addressed to a loopback host (no DNS rebinding) and come from no
//! origin or a loopback one (no cross-site requests); anything else is a 403 before a token is
//! read or a byte is forwarded. It looks at addresses only, never at credentials.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why a request does not come from this machine's software. Each message names the header and
/// the rule, so that whoever reads it knows what to change.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum Foreign {
    #[error(
        "the request has no Host header: the local API proxy answers only requests addressed \
         to localhost, 127.0.0.1 or [::1]"
    )]
    NoHost,
    #[error("the request has more than one {0} header")]
    Repeated(&'static str),
    #[error(
        "Host {0} is not a loopback name or address: the local API proxy answers only \
         requests addressed to localhost, 127.0.0.1 or [::1]"
    )]
    Host(String),
    #[error(
        "the request target names host {0}, which is not a loopback name or address: the \
         local API proxy answers only requests addressed to localhost, 127.0.0.1 or [::1]"
    )]
    Target(String),
    #[error(
        "Origin {0} is not a loopback origin: web pages may not use the local API proxy \
         (send no Origin, or one on localhost, 127.0.0.1 or [::1])"
    )]
    Origin(String),
    #[error("Sec-Fetch-Site {0}: web pages of other sites may not use the local API proxy")]
    FetchSite(String),
}

impl IntoResponse for Foreign {
    fn into_response(self) -> Response {
        let mut response = (
            StatusCode::FORBIDDEN,
            axum::Json(json!({ "errors": [self.to_string()] })),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// Middleware: passes a request on only if [`check`] finds nothing foreign about it.
pub async fn guard(request: Request, next: Next) -> Response {
    match check(request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(foreign) => {
            tracing::warn!(%foreign, "local API proxy refused a request");
            foreign.into_response()
        }
    }
}

/// The rules, for every path and method:
/// - exactly one `Host`, a loopback name or address ([`is_loopback_authority`]); a request
///   target in absolute or authority form (`GET http://host/ HTTP/1.1`) must name one too,
///   since a server may take the host from there (RFC 9112 §3.2.2);
/// - at most one `Origin`, and if there is one, `http` or `https` on a loopback authority
///   (`null`, sent by sandboxed frames and privacy-sensitive contexts, is foreign);
/// - `Sec-Fetch-Site`, when sent, one of `same-origin`, `same-site`, `none` (Fetch Metadata:
///   `cross-site` catches requests browsers send without an `Origin`, such as an `<img>`).
///
/// # Errors
/// The first rule broken, as [`Foreign`].
pub fn check(uri: &Uri, headers: &HeaderMap) -> Result<(), Foreign> {
    if let Some(authority) = uri.authority()
        && !is_loopback_authority(authority.as_str())
    {
        return Err(Foreign::Target(shown(authority.as_str().as_bytes())));
    }
    let host = single(headers, header::HOST, "Host")?.ok_or(Foreign::NoHost)?;
    if !host.to_str().is_ok_and(is_loopback_authority) {
        return Err(Foreign::Host(shown(host.as_bytes())));
    }
    if let Some(origin) = single(headers, header::ORIGIN, "Origin")?
        && !origin.to_str().is_ok_and(is_loopback_origin)
    {
        return Err(Foreign::Origin(shown(origin.as_bytes())));
    }
    if let Some(site) = single(headers, "sec-fetch-site", "Sec-Fetch-Site")?
        && !matches!(site.as_bytes(), b"same-origin" | b"same-site" | b"none")
    {
        return Err(Foreign::FetchSite(shown(site.as_bytes())));
    }
    Ok(())
}

/// The one value of header `name`: `Ok(None)` when absent, `Err` when repeated.
fn single<'a>(
    headers: &'a HeaderMap,
    name: impl axum::http::header::AsHeaderName,
    shown_as: &'static str,
) -> Result<Option<&'a HeaderValue>, Foreign> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Foreign::Repeated(shown_as));
    }
    Ok(first)
}

/// Whether `authority` (`host` or `host:port`, as in `Host` and in URLs) names this machine
/// without asking DNS: `localhost` in any letter case, a dotted-quad IPv4 address in 127/8, or
/// `[::1]` (also spelled out, or as the IPv4-mapped `[::ffff:127.x.y.z]`). Anything a DNS
/// server could answer for is refused, including `localhost.` (a resolver may send the
/// root-anchored name to DNS), `*.localhost`, `localhost.example`, `127.0.0.1.nip.io`, and
/// IPv6 zone identifiers. A port, when present, is 1 to 5 digits below 65536.
pub fn is_loopback_authority(authority: &str) -> bool {
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((v6, rest)) => (Host::V6(v6), rest),
            None => return false,
        },
        None => {
            let (name, port) = authority.split_at(authority.find(':').unwrap_or(authority.len()));
            (Host::Name(name), port)
        }
    };
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => {
            (1..=5).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && digits.parse::<u16>().is_ok()
        }
    };
    port_ok
        && match host {
            Host::Name(name) => {
                name.eq_ignore_ascii_case("localhost")
                    || name
                        .parse::<Ipv4Addr>()
                        .is_ok_and(|ip| IpAddr::V4(ip).is_loopback())
            }
            Host::V6(literal) => literal.parse::<Ipv6Addr>().is_ok_and(|ip| {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }),
        }
}

enum Host<'a> {
    Name(&'a str),
    V6(&'a str),
}

/// Whether an `Origin` value is a serialised origin (RFC 6454 §6.1: `scheme://host[:port]`,
/// nothing after) with scheme `http` or `https` and a loopback authority.
pub fn is_loopback_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && !authority.contains(['/', '?', '#', '@', '\\'])
        && is_loopback_authority(authority)
}

/// Whether the proxy may listen on `address`: only loopback, since any client that can reach
/// it gets the user's token (the boundary stops browsers; a network peer can send any `Host`).
///
/// # Errors
/// A message naming the address, for the command line.
pub fn check_listen(address: SocketAddr) -> Result<(), String> {
    if address.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "the local API proxy must listen on a loopback address (such as 127.0.0.1:8899), \
             not {address}: whoever can reach it acts as the user"
        ))
    }
}

/// A header value quoted for a message, at most 100 characters, never raw bytes.
fn shown(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let mut shown: String = text.chars().take(100).collect();
    if text.chars().nth(100).is_some() {
        shown.push('…');
    }
    format!("{shown:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_addresses_are_recognised_with_or_without_a_port() {
        for host in [
            "localhost",
            "LOCALHOST",
            "localhost:8899",
            "127.0.0.1",
            "127.0.0.1:8899",
            "127.1.2.3:1",
            "[::1]",
            "[::1]:8899",
            "[0:0:0:0:0:0:0:1]:80",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(is_loopback_authority(host), "{host} refused");
        }
    }

    #[test]
    fn names_dns_could_answer_for_and_malformed_authorities_are_not_loopback() {
        for host in [
            "",
            "attacker.example",
            "localhost.",
            "localhost.:8899",
            "localhost.attacker.example",
            "attacker.localhost",
            "127.0.0.1.nip.io",
            "127.0.0.1.",
            "127.1",
            "2130706433",
            "0x7f.0.0.1",
            "128.0.0.1",
            "0.0.0.0",
            "10.0.0.1",
            "localhost:",
            "localhost:99999",
            "localhost:123456",
            "localhost:+80",
            "localhost:80:80",
            "user@localhost",
            "localhost@attacker.example",
            "[::1",
            "[::1]x",
            "[::1]:",
            "[::2]",
            "[::]",
            "[fe80::1%25lo]",
            "[::ffff:10.0.0.1]",
            "::1",
            " localhost",
        ] {
            assert!(!is_loopback_authority(host), "{host:?} accepted");
        }
    }

    #[test]
    fn only_http_origins_on_loopback_are_loopback_origins() {
        for origin in [
            "http://localhost:8888",
            "https://127.0.0.1",
            "http://[::1]:8899",
        ] {
            assert!(is_loopback_origin(origin), "{origin} refused");
        }
        for origin in [
            "null",
            "",
            "http://attacker.example",
            "http://localhost.attacker.example",
            "file://",
            "chrome-extension://abc",
            "http://localhost/",
            "http://localhost:8888/path",
            "http://evil@localhost",
            "ws://localhost",
            "localhost",
        ] {
            assert!(!is_loopback_origin(origin), "{origin:?} accepted");
        }
    }

    #[test]
    fn only_loopback_listen_addresses_are_allowed() {
        assert!(check_listen("127.0.0.1:8899".parse().unwrap()).is_ok());
        assert!(check_listen("[::1]:8899".parse().unwrap()).is_ok());
        let refused = check_listen("0.0.0.0:8899".parse().unwrap()).unwrap_err();
        assert!(refused.contains("0.0.0.0:8899"), "{refused}");
        assert!(check_listen("192.168.1.10:8899".parse().unwrap()).is_err());
    }

    #[test]
    fn long_or_binary_header_values_are_shown_quoted_and_cut() {
        assert_eq!(shown(b"a\"b\n"), r#""a\"b\n""#);
        assert_eq!(shown(&[0xff]), "\"\u{fffd}\"");
        let long = shown("x".repeat(300).as_bytes());
        assert_eq!(long.chars().count(), 103);
    }
}
