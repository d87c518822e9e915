//! The headers the gateway sends upstream and back (SPEC section 5, "Forwarding headers"): the
//! credential replaced by a JWT, hop-by-hop headers dropped (RFC 9110 section 7.6.1), and the
//! forwarding headers written by Tessera from what it saw, never passed through from the client
//! (except `X-Forwarded-For`, which is extended as RFC 7239 section 5.2 describes for its
//! standard form). Pure functions on header maps: no I/O.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};

/// The forwarding headers Tessera writes, named once rather than parsed per request.
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
        headers.insert(X_FORWARDED_FOR.clone(), xff);
    }
    if let Some(forwarded) = forwarded(seen) {
        headers.insert(header::FORWARDED, forwarded);
    }
    let mut real = Vec::with_capacity(15);
    push_ip(&mut real, seen.client);
    if let Ok(real) = HeaderValue::from_maybe_shared(Bytes::from(real)) {
        headers.insert(X_REAL_IP.clone(), real);
    }
    headers.insert(
        X_FORWARDED_PROTO.clone(),
        HeaderValue::from_static(seen.proto),
    );
    if let Some(host) = &seen.host {
        headers.insert(X_FORWARDED_HOST.clone(), host.clone());
    }
    match &seen.request_id {
        Some(id) => headers.insert(X_REQUEST_ID.clone(), id.clone()),
        None => headers.remove(&X_REQUEST_ID),
    };
}

/// Appends `ip` as text (IPv4-mapped IPv6 addresses as IPv4): IPv4 digit by digit, without
/// `core::fmt`, as every forwarded request writes its addresses (issue #16).
fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    out.push(b'.');
                }
                if octet >= 100 {
                    out.push(b'0' + octet / 100);
                }
                if octet >= 10 {
                    out.push(b'0' + octet / 10 % 10);
                }
                out.push(b'0' + octet % 10);
            }
        }
        IpAddr::V6(v6) => out.extend_from_slice(v6.to_string().as_bytes()),
    }
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
/// rather than one hash lookup per name listed; the names found are kept on the stack, a batch
/// at a time, never in an allocation (issue #16).
fn strip(headers: &mut HeaderMap, lists: &[&[HeaderName]]) {
    const BATCH: usize = 8;
    let doomed = |name: &HeaderName| lists.iter().any(|list| list.contains(name));
    loop {
        let mut batch: [Option<HeaderName>; BATCH] = Default::default();
        let mut found = 0;
        for name in headers.keys().filter(|n| doomed(n)) {
            if let Some(slot) = batch.get_mut(found) {
                *slot = Some(name.clone());
            }
            found += 1;
        }
        for name in batch.into_iter().flatten() {
            headers.remove(name);
        }
        // Scanned again only when more were found than the batch held.
        if found <= BATCH {
            return;
        }
    }
}

/// Drops the headers the `Connection` header names (RFC 9110 section 7.6.1), and
/// `Connection` itself, which is hop-by-hop too. The names are looked up as the text they are
/// (`HeaderMap::remove` with a `&str` builds no `HeaderName`: no allocation; a name that is not
/// a valid header name matches nothing, as before).
fn strip_connection_listed(headers: &mut HeaderMap) {
    let mut lines = headers.get_all(header::CONNECTION).iter();
    match (lines.next(), lines.next()) {
        (None, _) => {}
        // The usual single line, cloned by reference count so that the map can change.
        (Some(line), None) => {
            let line = line.clone();
            headers.remove(header::CONNECTION);
            remove_listed(headers, &line);
        }
        (Some(_), Some(_)) => {
            let all: Vec<HeaderValue> = headers
                .get_all(header::CONNECTION)
                .iter()
                .cloned()
                .collect();
            headers.remove(header::CONNECTION);
            for line in &all {
                remove_listed(headers, line);
            }
        }
    }
}

/// Removes the headers one `Connection` line names (comma-separated).
fn remove_listed(headers: &mut HeaderMap, line: &HeaderValue) {
    let Ok(line) = line.to_str() else {
        return;
    };
    for name in line.split(',') {
        headers.remove(name.trim());
    }
}

/// Every `X-Forwarded-For` line, in order, joined with ", ", then the peer.
fn forwarded_for(headers: &HeaderMap, peer: IpAddr) -> Option<HeaderValue> {
    let mut joined: Vec<u8> = Vec::with_capacity(64);
    for line in headers.get_all(&X_FORWARDED_FOR) {
        let line = line.as_bytes().trim_ascii();
        if !line.is_empty() {
            joined.extend_from_slice(line);
            joined.extend_from_slice(b", ");
        }
    }
    push_ip(&mut joined, peer);
    HeaderValue::from_maybe_shared(Bytes::from(joined)).ok()
}

/// `for=<client>;proto=<proto>[;host=<host>]` (RFC 7239 section 4): an IPv6 address bracketed
/// and quoted (section 6), a host quoted when it is not a token (it has a port).
fn forwarded(seen: &Seen) -> Option<HeaderValue> {
    let mut value: Vec<u8> = Vec::with_capacity(96);
    value.extend_from_slice(b"for=");
    match seen.client.to_canonical() {
        v4 @ IpAddr::V4(_) => push_ip(&mut value, v4),
        v6 @ IpAddr::V6(_) => {
            value.extend_from_slice(b"\"[");
            push_ip(&mut value, v6);
            value.extend_from_slice(b"]\"");
        }
    }
    value.extend_from_slice(b";proto=");
    value.extend_from_slice(seen.proto.as_bytes());
    if let Some(host) = seen.host.as_ref().and_then(|h| h.to_str().ok()) {
        let token = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        value.extend_from_slice(b";host=");
        if token {
            value.extend_from_slice(host.as_bytes());
        } else {
            // A valid authority holds no '"' or '\', so quoting needs no escapes.
            value.push(b'"');
            value.extend_from_slice(host.as_bytes());
            value.push(b'"');
        }
    }
    HeaderValue::from_maybe_shared(Bytes::from(value)).ok()
}

#[cfg(test)]
#[path = "headers_tests.rs"]
mod tests;
