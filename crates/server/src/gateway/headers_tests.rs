//! Unit tests of `gateway::headers`: what reaches an upstream is what Tessera saw, not what the
//! client claimed.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn seen() -> Seen {
    Seen {
        peer: ip("127.0.0.1"),
        client: ip("127.0.0.1"),
        proto: "http",
        host: Some(HeaderValue::from_static("tessera.example:8080")),
        request_id: Some(HeaderValue::from_static("req-1")),
    }
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn rewritten(pairs: &[(&str, &str)], seen: &Seen) -> HeaderMap {
    let mut map = headers(pairs);
    to_upstream(&mut map, seen, HeaderValue::from_static("Bearer jwt"));
    map
}

fn one<'a>(map: &'a HeaderMap, name: &str) -> &'a str {
    let all: Vec<_> = map.get_all(name).iter().collect();
    assert_eq!(all.len(), 1, "{name}: {all:?}");
    all[0].to_str().unwrap()
}

#[test]
fn every_incoming_forwarded_for_line_is_kept_in_order_then_the_peer() {
    let map = rewritten(
        &[
            ("x-forwarded-for", "10.0.0.5"),
            ("x-forwarded-for", "203.0.113.99"),
        ],
        &seen(),
    );
    assert_eq!(
        one(&map, "x-forwarded-for"),
        "10.0.0.5, 203.0.113.99, 127.0.0.1"
    );
    let map = rewritten(
        &[("x-forwarded-for", "a, b"), ("x-forwarded-for", " ")],
        &seen(),
    );
    assert_eq!(one(&map, "x-forwarded-for"), "a, b, 127.0.0.1");
    let map = rewritten(&[], &seen());
    assert_eq!(one(&map, "x-forwarded-for"), "127.0.0.1");
}

#[test]
fn forwarding_headers_the_client_sent_are_replaced_by_what_tessera_saw() {
    let sent = [
        ("forwarded", "for=6.6.6.6;proto=https;host=evil"),
        ("x-real-ip", "6.6.6.6"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-prefix", "/admin"),
        ("x-original-url", "/internal/secret.txt"),
        ("x-rewrite-url", "/internal/secret.txt"),
        ("true-client-ip", "6.6.6.6"),
        ("x-tessera-user", "admin"),
        ("x-request-id", "forged"),
    ];
    let seen = Seen {
        client: ip("203.0.113.7"),
        ..seen()
    };
    let map = rewritten(&sent, &seen);
    assert_eq!(
        one(&map, "forwarded"),
        "for=203.0.113.7;proto=http;host=\"tessera.example:8080\""
    );
    assert_eq!(one(&map, "x-real-ip"), "203.0.113.7");
    assert_eq!(one(&map, "x-forwarded-host"), "tessera.example:8080");
    assert_eq!(one(&map, "x-forwarded-proto"), "http");
    assert_eq!(one(&map, "x-request-id"), "req-1");
    for name in [
        "x-forwarded-port",
        "x-forwarded-prefix",
        "x-original-url",
        "x-rewrite-url",
        "true-client-ip",
        "x-tessera-user",
    ] {
        assert!(map.get(name).is_none(), "{name} reached the upstream");
    }
}

#[test]
fn without_a_valid_host_no_host_is_claimed() {
    let seen = Seen {
        host: None,
        request_id: None,
        ..seen()
    };
    let map = rewritten(
        &[("x-forwarded-host", "evil"), ("x-request-id", "forged")],
        &seen,
    );
    assert!(map.get("x-forwarded-host").is_none());
    assert!(map.get("x-request-id").is_none());
    assert_eq!(one(&map, "forwarded"), "for=127.0.0.1;proto=http");
}

#[test]
fn an_ipv6_client_is_bracketed_and_quoted_and_a_mapped_one_is_ipv4() {
    let seen6 = Seen {
        peer: ip("::1"),
        client: ip("2001:db8::7"),
        host: Some(HeaderValue::from_static("tessera")),
        ..seen()
    };
    let map = rewritten(&[], &seen6);
    assert_eq!(
        one(&map, "forwarded"),
        "for=\"[2001:db8::7]\";proto=http;host=tessera"
    );
    assert_eq!(one(&map, "x-real-ip"), "2001:db8::7");
    assert_eq!(one(&map, "x-forwarded-for"), "::1");
    let mapped = Seen {
        peer: ip("::ffff:10.1.2.3"),
        client: ip("::ffff:10.1.2.3"),
        ..seen()
    };
    let map = rewritten(&[], &mapped);
    assert_eq!(one(&map, "x-forwarded-for"), "10.1.2.3");
    assert!(one(&map, "forwarded").starts_with("for=10.1.2.3;"));
}

#[test]
fn the_credential_and_hop_by_hop_headers_never_reach_the_upstream() {
    let map = rewritten(
        &[
            ("authorization", "Bearer tpat_secret"),
            ("x-domino-api-key", "tkey_secret"),
            ("host", "tessera.example"),
            ("connection", "keep-alive, x-private-hop"),
            ("x-private-hop", "secret"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic eDp5"),
            ("x-end-to-end", "kept"),
        ],
        &seen(),
    );
    assert_eq!(one(&map, "authorization"), "Bearer jwt");
    for name in [
        "x-domino-api-key",
        "host",
        "connection",
        "x-private-hop",
        "keep-alive",
        "te",
        "upgrade",
        "proxy-authorization",
    ] {
        assert!(map.get(name).is_none(), "{name} reached the upstream");
    }
    assert_eq!(one(&map, "x-end-to-end"), "kept");
}

#[test]
fn an_upstream_cannot_close_or_reframe_the_clients_connection() {
    let mut map = headers(&[
        ("connection", "close, x-upstream-hop"),
        ("x-upstream-hop", "1"),
        ("keep-alive", "timeout=1"),
        ("transfer-encoding", "chunked"),
        ("content-type", "text/plain"),
    ]);
    to_client(&mut map);
    assert_eq!(map.len(), 1, "{map:?}");
    assert_eq!(one(&map, "content-type"), "text/plain");
}

#[test]
fn the_requested_host_is_the_targets_authority_or_a_valid_host_header() {
    let host = |uri: &str, value: Option<&str>| {
        let uri: Uri = uri.parse().unwrap();
        let map = value.map_or_else(HeaderMap::new, |v| headers(&[("host", v)]));
        requested_host(&uri, &map).map(|h| h.to_str().unwrap().to_string())
    };
    assert_eq!(
        host("/x", Some("tessera:8080")).as_deref(),
        Some("tessera:8080")
    );
    assert_eq!(host("/x", Some("[::1]:80")).as_deref(), Some("[::1]:80"));
    assert_eq!(
        host("http://direct.example/x", Some("other")).as_deref(),
        Some("direct.example")
    );
    assert_eq!(host("/x", None), None);
    for bad in [
        "evil\"; for=6.6.6.6",
        "a b",
        "user@tessera",
        "",
        "tessera/path",
    ] {
        assert_eq!(host("/x", Some(bad)), None, "{bad:?}");
    }
    assert_eq!(host("http://user@direct.example/x", None), None);
}

#[test]
fn addresses_are_written_as_display_writes_them() {
    for text in [
        "0.0.0.0",
        "9.10.99.100",
        "255.255.255.255",
        "203.0.113.66",
        "2001:db8::1",
        "::ffff:10.0.0.7",
    ] {
        let address = ip(text);
        let mut written = Vec::new();
        push_ip(&mut written, address);
        assert_eq!(
            String::from_utf8(written).unwrap(),
            address.to_canonical().to_string(),
            "{text}"
        );
    }
}

#[test]
fn more_doomed_headers_than_a_batch_and_every_connection_line_are_all_dropped() {
    // 17 spoofable names, two of them twice, and two `Connection` lines naming headers in any
    // case, one of them not a header name at all: all dropped, the other headers kept.
    let mut pairs: Vec<(&str, &str)> = SPOOFABLE.iter().map(|n| (n.as_str(), "x")).collect();
    pairs.extend([
        ("x-real-ip", "6.6.6.6"),
        ("forwarded", "for=6.6.6.6"),
        ("connection", "X-Hop-One, bad name"),
        ("connection", " x-hop-two ,,"),
        ("x-hop-one", "1"),
        ("x-hop-two", "2"),
        ("accept", "*/*"),
        ("x-keep", "yes"),
    ]);
    let map = rewritten(&pairs, &seen());
    for name in
        SPOOFABLE
            .iter()
            .map(HeaderName::as_str)
            .chain(["connection", "x-hop-one", "x-hop-two"])
    {
        let expected = match name {
            // Written again by Tessera, once.
            "forwarded" | "x-real-ip" | "x-forwarded-host" | "x-forwarded-proto" => 1,
            _ => 0,
        };
        assert_eq!(
            map.get_all(name).iter().count(),
            expected,
            "{name}: {map:?}"
        );
    }
    assert_eq!(one(&map, "x-real-ip"), "127.0.0.1");
    assert_eq!(one(&map, "accept"), "*/*");
    assert_eq!(one(&map, "x-keep"), "yes");
}

#[test]
fn a_routes_host_header_is_its_upstreams_host_with_a_port_other_than_80() {
    use crate::config::GatewayRoute;
    let host = |upstream: &str| {
        GatewayRoute::new("/api/jobs/", upstream, std::time::Duration::from_secs(5))
            .map(|route| route.host)
            .ok()
    };
    assert_eq!(
        host("http://127.0.0.1:8080"),
        Some(HeaderValue::from_static("127.0.0.1:8080"))
    );
    assert_eq!(
        host("http://jobs.internal:80/"),
        Some(HeaderValue::from_static("jobs.internal"))
    );
    assert_eq!(
        host("http://jobs.internal"),
        Some(HeaderValue::from_static("jobs.internal"))
    );
    assert_eq!(
        host("http://[::1]:9000"),
        Some(HeaderValue::from_static("[::1]:9000"))
    );
}
