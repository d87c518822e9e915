//! The gateway's forwarding headers and HTTP framing (SPEC section 5, "Forwarding headers"),
//! with real upstreams on real ports: `X-Forwarded-For` keeps every incoming line, the other
//! forwarding headers are Tessera's own, and the client keeps an HTTP/1.1 keep-alive connection
//! whatever HTTP version the upstream spoke and however it framed its body.

use std::time::Duration;

use tessera_server::client_addr::TrustedProxies;
use tessera_server::config::GatewayRoute;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::cases::gateway::{gateway_app, upstream};
use crate::cases::raw_http::{RawConnection, get, read_head, send};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn every_forwarded_for_line_reaches_the_upstream_in_order_then_the_peer() {
    let (app, _up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let lines = ["X-Forwarded-For: 10.0.0.5", "X-Forwarded-For: 203.0.113.99"];
    let reply = send(&app.address, &get("/api/jobs/v1/jobs", Some(&pat), &lines)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.json()["headers"]["x-forwarded-for"],
        "10.0.0.5, 203.0.113.99, 127.0.0.1"
    );
    let none = send(&app.address, &get("/api/jobs/v1/jobs", Some(&pat), &[])).await;
    assert_eq!(none.json()["headers"]["x-forwarded-for"], "127.0.0.1");
}

#[tokio::test]
async fn forwarding_headers_a_client_sends_are_replaced_by_what_tessera_saw() {
    let (app, up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let port = app
        .address
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let request = format!(
        "GET /api/jobs/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {pat}\r\n\
         Forwarded: for=6.6.6.6;proto=https;host=evil.example\r\nX-Real-IP: 6.6.6.6\r\n\
         X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n\
         X-Original-URL: /internal/secret.txt\r\nX-Tessera-User: admin\r\n\r\n"
    );
    let reply = send(&app.address, &request).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let seen = &reply.json()["headers"];
    assert_eq!(
        seen["forwarded"],
        format!("for=127.0.0.1;proto=http;host=\"127.0.0.1:{port}\"")
    );
    assert_eq!(seen["x-real-ip"], "127.0.0.1");
    assert_eq!(seen["x-forwarded-host"], format!("127.0.0.1:{port}"));
    assert_eq!(seen["x-forwarded-proto"], "http");
    // The upstream is asked for by its own name, not by the one the client used for Tessera.
    assert_eq!(seen["host"], up.url.trim_start_matches("http://"));
    for name in ["x-forwarded-port", "x-original-url", "x-tessera-user"] {
        assert!(
            seen.get(name).is_none(),
            "{name} reached the upstream: {seen}"
        );
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_real_client_is_named_and_the_chain_kept() {
    let up = upstream().await;
    let route = GatewayRoute::new("/api/jobs/", &up.url, Duration::from_secs(5)).unwrap();
    let app = spawn_app_with(move |c| {
        c.gateway_routes = vec![route];
        c.trusted_proxies = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
    })
    .await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let lines = [
        "X-Forwarded-For: 6.6.6.6, 203.0.113.99",
        "X-Real-IP: 6.6.6.6",
    ];
    let reply = send(&app.address, &get("/api/jobs/v1/jobs", Some(&pat), &lines)).await;
    let seen = &reply.json()["headers"];
    assert_eq!(seen["x-forwarded-for"], "6.6.6.6, 203.0.113.99, 127.0.0.1");
    assert_eq!(seen["x-real-ip"], "203.0.113.99");
    assert_eq!(
        seen["forwarded"],
        "for=203.0.113.99;proto=http;host=127.0.0.1"
    );
}

/// An upstream on raw TCP that answers one request per connection, then closes it: `/ten` in
/// HTTP/1.0 with a length, `/close` in HTTP/1.1 with `Connection: close`, `/eof` in HTTP/1.0
/// with a body that ends when the connection does.
async fn old_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let head = read_head(&mut stream).await;
                let target = head.first().cloned().unwrap_or_default();
                let answer: &[u8] = if target.contains("/ten ") {
                    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
                } else if target.contains("/close ") {
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nclose"
                } else {
                    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
                };
                let mut stream = stream.into_inner();
                let _ = stream.write_all(answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    url
}

#[tokio::test]
async fn behind_an_http_1_0_upstream_the_client_gets_http_1_1_and_keeps_its_connection() {
    let route =
        GatewayRoute::new("/api/old/", &old_upstream().await, Duration::from_secs(5)).unwrap();
    let app = spawn_app_with(move |c| c.gateway_routes = vec![route]).await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let mut connection = RawConnection::open(&app.address).await;
    for (path, body) in [
        ("/api/old/ten", "hello"),
        ("/api/old/ten", "hello"),
        ("/api/old/close", "close"),
        ("/api/old/eof", "until the end"),
        ("/api/old/ten", "hello"),
    ] {
        let reply = connection.exchange(&get(path, Some(&pat), &[])).await;
        assert_eq!(reply.version, "HTTP/1.1", "{path}: {reply:?}");
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        assert_eq!(reply.text(), body, "{path}");
        assert!(
            reply
                .header("connection")
                .is_none_or(|c| !c.contains("close")),
            "{path}: {reply:?}"
        );
        assert!(reply.header("keep-alive").is_none(), "{path}: {reply:?}");
        if path.ends_with("/eof") {
            assert_eq!(
                reply.header("transfer-encoding"),
                Some("chunked"),
                "{reply:?}"
            );
        }
    }
    assert!(
        !connection.is_closed().await,
        "the client's connection was closed"
    );
}

#[tokio::test]
async fn an_http_1_0_client_is_answered_in_http_1_0_with_a_body_it_can_read() {
    let route =
        GatewayRoute::new("/api/old/", &old_upstream().await, Duration::from_secs(5)).unwrap();
    let app = spawn_app_with(move |c| c.gateway_routes = vec![route]).await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let request = format!("GET /api/old/eof HTTP/1.0\r\nAuthorization: Bearer {pat}\r\n\r\n");
    let reply = send(&app.address, &request).await;
    assert_eq!(reply.version, "HTTP/1.0", "{reply:?}");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text(), "until the end");
    assert!(reply.header("transfer-encoding").is_none(), "{reply:?}");
}

#[tokio::test]
async fn tesseras_own_cookies_never_reach_the_upstream_but_others_do() {
    let (app, _up) = crate::cases::gateway::gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let reply = app
        .client
        .get(format!("{}/api/jobs/v1/jobs", app.address))
        .bearer_auth(&pat)
        .header(
            "cookie",
            "theme=dark; tessera_session=tses_secret; tessera_login_csrf=abc; lang=en",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let body: serde_json::Value = reply.json().await.unwrap();
    let cookie = body["headers"]["cookie"].as_str().unwrap_or("");
    assert_eq!(cookie, "theme=dark; lang=en");
    let only_ours = app
        .client
        .get(format!("{}/api/jobs/v1/jobs", app.address))
        .bearer_auth(&pat)
        .header("cookie", "tessera_session=tses_secret")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(only_ours["headers"].get("cookie").is_none(), "{only_ours}");
}

#[tokio::test]
async fn the_route_prefix_itself_is_forwarded_like_the_paths_under_it() {
    let (app, up) = crate::cases::gateway::gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    for path in ["/api/jobs/", "/api/jobs/.", "/api/jobs/x/.."] {
        let reply = crate::cases::raw_http::send(
            &app.address,
            &crate::cases::raw_http::get(path, Some(&pat), &[]),
        )
        .await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(reply.json()["path"], "/api/jobs/", "{path}");
    }
    let before = up.hits.load(std::sync::atomic::Ordering::SeqCst);
    let anonymous = crate::cases::raw_http::send(
        &app.address,
        &crate::cases::raw_http::get("/api/jobs/", None, &[]),
    )
    .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::SeqCst), before);
}
