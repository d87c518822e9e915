//! The headers the gateway sends upstream and back (SPEC section 5, "Forwarding headers"): the
//! credential replaced by a JWT, hop-by-hop headers dropped (RFC 9110 section 7.6.1), and the
//! forwarding headers written by Tessera from what it saw, never passed through from the client
//! (except `X-Forwarded-For`, which is extended as RFC 7239 section 5.2 describes for its
//! standard form). Pure functions on header maps: no I/O.

use std::net::IpAddr;

use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};

/// Hop-by-hop headers (RFC 9110 section 7.6.1), never forwarded either way. Names made at
/// compile time, so that dropping them parses nothing per request.
static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Headers a client could send to lie to an upstream about its address, the scheme, the host
/// or the path (frameworks honour them: Symfony and IIS route on `X-Original-URL`, Spring on
/// `X-Forwarded-Prefix`), or about the user (`X-Tessera-*`, which forward authentication
/// answers with). None of them reaches an upstream; Tessera writes its own where it has one.
static SPOOFABLE: [HeaderName; 17] = [
    header::FORWARDED,
    HeaderName::from_static("x-real-ip"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-port"),
    HeaderName::from_static("x-forwarded-prefix"),
    HeaderName::from_static("x-forwarded-server"),
    HeaderName::from_static("x-forwarded-scheme"),
    HeaderName::from_static("x-forwarded-ssl"),
    HeaderName::from_static("x-original-url"),
    HeaderName::from_static("x-original-uri"),
    HeaderName::from_static("x-rewrite-url"),
    HeaderName::from_static("x-client-ip"),
    HeaderName::from_static("true-client-ip"),
    HeaderName::from_static("x-cluster-client-ip"),
    HeaderName::from_static("x-tessera-user"),
    HeaderName::from_static("x-tessera-subject"),
];

/// The caller's own credentials and the host it named, replaced before forwarding.
static REPLACED: [HeaderName; 2] = [header::HOST, HeaderName::from_static("x-domino-api-key")];

/// What Tessera saw of a request, from which it writes the forwarding headers.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The TCP peer (axum's `ConnectInfo`), appended to `X-Forwarded-For`.
    pub peer: IpAddr,
    /// The client's address (`ClientAddr`: the peer, or behind `trusted_proxies` the right-most
    /// untrusted `X-Forwarded-For` entry): `X-Real-IP` and `Forwarded: for=`.
    pub client: IpAddr,
    /// `http` or `https`: how clients reach Tessera (the scheme of `public_url`).
    pub proto: &'static str,
    /// The host the client asked for (see `requested_host`), if it named a valid one.
    pub host: Option<HeaderValue>,
    /// Tessera's request id, sent as `X-Request-Id`.
    pub request_id: Option<HeaderValue>,
}

/// The host a request was sent to: the authority of an absolute-form target, else the `Host`
/// header (RFC 9112 section 3.2.2). `None` when it is missing or not a valid `host[:port]`
/// (user information included), so that nothing malformed is copied into forwarding headers.
pub fn requested_host(uri: &Uri, headers: &HeaderMap) -> Option<HeaderValue> {
    let host = match uri.authority() {
        Some(authority) => HeaderValue::from_str(authority.as_str()).ok()?,
        None => headers.get(header::HOST)?.clone(),
    };
    let valid = Authority::try_from(host.as_bytes())
        .is_ok_and(|a| !a.as_str().contains('@') && !a.host().is_empty());
    valid.then_some(host)
}

/// Rewrites a request's headers for the upstream, in place: hop-by-hop headers (and any the
/// client's `Connection` names) and the spoofable ones above dropped; the caller's credential
/// (`Authorization`, `X-Domino-Api-Key`) replaced by `bearer`; `X-Forwarded-For` = every
/// incoming line joined in order with ", ", then the peer; `Forwarded` (RFC 7239),
/// `X-Real-IP`, `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Request-Id` written from `seen`.
pub fn to_upstream(headers: &mut HeaderMap, seen: &Seen, bearer: HeaderValue) {
    strip_connection_listed(headers);
    strip(headers, &[&HOP_BY_HOP, &SPOOFABLE, &REPLACED]);
    headers.insert(header::AUTHORIZATION, bearer);
    strip_own_cookies(headers);
    if let Some(xff) = forwarded_for(headers, seen.peer) {
        headers.insert("x-forwarded-for", xff);
    }
    if let Some(forwarded) = forwarded(seen) {
        headers.insert(header::FORWARDED, forwarded);
    }
    if let Ok(real) = HeaderValue::from_str(&seen.client.to_canonical().to_string()) {
        headers.insert("x-real-ip", real);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static(seen.proto));
    if let Some(host) = &seen.host {
        headers.insert("x-forwarded-host", host.clone());
    }
    match &seen.request_id {
        Some(id) => headers.insert("x-request-id", id.clone()),
        None => headers.remove("x-request-id"),
    };
}

/// Tessera's own cookies (the UI session and its login CSRF token) are credentials too: they
/// never reach an upstream (SPEC section 5). Other cookies pass as they came.
const OWN_COOKIES: &[&str] = &["tessera_session", "tessera_login_csrf"];

fn strip_own_cookies(headers: &mut HeaderMap) {
    if !headers.contains_key(header::COOKIE) {
        return;
    }
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or("").trim();
            !pair.is_empty() && !OWN_COOKIES.contains(&name)
        })
        .map(str::to_string)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty()
        && let Ok(value) = HeaderValue::from_str(&kept.join("; "))
    {
        headers.insert(header::COOKIE, value);
    }
}

/// Rewrites an upstream response's headers for the client: hop-by-hop headers dropped (the
/// client's connection is Tessera's, whatever the upstream said about its own).
pub fn to_client(headers: &mut HeaderMap) {
    strip_connection_listed(headers);
    strip(headers, &[&HOP_BY_HOP]);
}

/// Drops every header named in `lists`, in one pass over the (usually few) headers present
/// rather than one hash lookup per name listed.
fn strip(headers: &mut HeaderMap, lists: &[&[HeaderName]]) {
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| lists.iter().any(|list| list.contains(name)))
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
}

/// Drops the headers the `Connection` header names (RFC 9110 section 7.6.1).
fn strip_connection_listed(headers: &mut HeaderMap) {
    if headers.contains_key(header::CONNECTION) {
        let listed: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .collect();
        for name in listed {
            headers.remove(name);
        }
    }
}

/// Every `X-Forwarded-For` line, in order, joined with ", ", then the peer.
fn forwarded_for(headers: &HeaderMap, peer: IpAddr) -> Option<HeaderValue> {
    let peer = peer.to_canonical().to_string();
    let mut joined: Vec<u8> = Vec::with_capacity(64);
    for line in headers.get_all("x-forwarded-for") {
        let line = line.as_bytes().trim_ascii();
        if !line.is_empty() {
            joined.extend_from_slice(line);
            joined.extend_from_slice(b", ");
        }
    }
    joined.extend_from_slice(peer.as_bytes());
    HeaderValue::from_bytes(&joined).ok()
}

/// `for=<client>;proto=<proto>[;host=<host>]` (RFC 7239 section 4): an IPv6 address bracketed
/// and quoted (section 6), a host quoted when it is not a token (it has a port).
fn forwarded(seen: &Seen) -> Option<HeaderValue> {
    let client = match seen.client.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("\"[{v6}]\""),
    };
    let mut value = format!("for={client};proto={}", seen.proto);
    if let Some(host) = seen.host.as_ref().and_then(|h| h.to_str().ok()) {
        let token = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        let host = if token {
            host.to_string()
        } else {
            // A valid authority holds no '"' or '\', so quoting needs no escapes.
            format!("\"{host}\"")
        };
        value.push_str(";host=");
        value.push_str(&host);
    }
    HeaderValue::from_str(&value).ok()
}

#[cfg(test)]
#[path = "headers_tests.rs"]
mod tests;
