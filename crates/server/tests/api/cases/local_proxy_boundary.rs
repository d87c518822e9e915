//! The local API proxy's boundary, against the real proxy on a real port with raw HTTP/1.1 so
//! that every byte of Host, Origin and the request target is the test's: loopback requests get
//! the token, web pages (DNS rebinding, cross-site requests) get 403 on every path.

use std::sync::Arc;

use serde_json::Value;
use tessera_server::local_proxy::{CredentialSource, LocalProxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cases::local_proxy::proxy;
use crate::helpers::{Auth, TestApp, spawn_app};

/// A status and body read from a raw exchange (the request closes the connection).
struct Raw {
    status: u16,
    head: String,
    body: String,
}

impl Raw {
    /// The first message of the JSON error body.
    fn error(&self) -> String {
        serde_json::from_str::<Value>(&self.body).unwrap_or_default()["errors"][0]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Sends `request_line` and `headers` (each a full `Name: value` line) to the proxy at `url`.
async fn raw(url: &str, request_line: &str, headers: &[String]) -> Raw {
    let address = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut request = format!("{request_line}\r\n");
    for line in headers {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?} for {request:?}"));
    Raw {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

async fn started() -> (TestApp, Arc<LocalProxy>, String, String) {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let (proxy, url) = proxy(&app.address, CredentialSource::Value(pat.clone())).await;
    (app, proxy, url, pat)
}

fn port(url: &str) -> String {
    url.rsplit(':').next().unwrap().to_string()
}

fn host(value: &str) -> Vec<String> {
    vec![format!("Host: {value}")]
}

#[tokio::test]
async fn the_token_is_served_to_requests_addressed_to_a_loopback_host() {
    let (_app, _proxy, url, _) = started().await;
    let port = port(&url);
    for value in [
        format!("127.0.0.1:{port}"),
        "127.0.0.1".to_string(),
        format!("localhost:{port}"),
        "localhost".to_string(),
        format!("LOCALHOST:{port}"),
        "127.42.0.7".to_string(),
        format!("[::1]:{port}"),
        "[::1]".to_string(),
    ] {
        let reply = raw(&url, "GET /access-token HTTP/1.1", &host(&value)).await;
        assert_eq!(reply.status, 200, "Host: {value}: {}", reply.body);
        assert_eq!(
            reply.body.split('.').count(),
            3,
            "Host: {value}: not a JWT: {}",
            reply.body
        );
        assert!(
            reply
                .head
                .to_ascii_lowercase()
                .contains("cache-control: no-store"),
            "the token may be cached: {}",
            reply.head
        );
    }
}

#[tokio::test]
async fn requests_addressed_to_another_host_are_refused_on_every_path_before_any_token_is_acquired()
{
    let (_app, proxy, url, _) = started().await;
    let port = port(&url);
    let foreign: Vec<(&str, Vec<String>)> = vec![
        (
            "a rebinding name",
            host(&format!("attacker.example:{port}")),
        ),
        ("a name under localhost", host("localhost.attacker.example")),
        ("a subdomain of localhost", host("evil.localhost")),
        ("a name that spells an address", host("127.0.0.1.nip.io")),
        (
            "localhost with a trailing dot",
            host(&format!("localhost.:{port}")),
        ),
        ("an address with a trailing dot", host("127.0.0.1.")),
        ("a short address", host("127.1")),
        ("a decimal address", host("2130706433")),
        ("a routable address", host("10.0.0.1")),
        ("an empty host", host("")),
        ("an empty port", host("localhost:")),
        ("user info", host("jane@localhost")),
        ("an IPv6 zone", host("[fe80::1%25lo]")),
        ("no Host", vec![]),
        (
            "two Hosts",
            vec!["Host: localhost".into(), "Host: attacker.example".into()],
        ),
    ];
    for (what, headers) in &foreign {
        for request_line in [
            "GET /access-token HTTP/1.1",
            "GET /v4/users/self HTTP/1.1",
            "POST /api/pat/v1/tokens/invalidate HTTP/1.1",
            "OPTIONS /access-token HTTP/1.1",
        ] {
            let reply = raw(&url, request_line, headers).await;
            assert_eq!(reply.status, 403, "{what} / {request_line}: {}", reply.body);
            assert!(
                reply.error().contains("Host"),
                "{what}: the message does not name the Host rule: {}",
                reply.body
            );
            assert!(
                !reply.body.contains("eyJ"),
                "{what}: a token leaked: {}",
                reply.body
            );
        }
    }
    let refused = raw(&url, "GET / HTTP/1.1", &host("attacker.example")).await;
    assert!(
        refused.error().contains("\"attacker.example\"") && refused.error().contains("loopback"),
        "the message does not say what is wrong: {}",
        refused.error()
    );
    // HTTP/1.0 has no Host at all: nothing says where the request was meant to go.
    assert_eq!(
        raw(&url, "GET /access-token HTTP/1.0", &[]).await.status,
        403
    );
    assert_eq!(proxy.exchanges(), 0, "a refused request acquired a token");
}

#[tokio::test]
async fn a_request_target_in_absolute_form_must_name_a_loopback_host_too() {
    let (_app, _proxy, url, _) = started().await;
    let port = port(&url);
    for target in [
        "http://attacker.example/access-token",
        &format!("http://attacker.example:{port}/access-token"),
        "http://127.0.0.1.nip.io/access-token",
        "http://localhost.attacker.example/access-token",
    ] {
        let reply = raw(
            &url,
            &format!("GET {target} HTTP/1.1"),
            &host(&format!("localhost:{port}")),
        )
        .await;
        assert_eq!(reply.status, 403, "{target}: {}", reply.body);
        assert!(reply.error().contains("request target"), "{}", reply.body);
    }
    let reply = raw(
        &url,
        &format!("GET http://localhost:{port}/access-token HTTP/1.1"),
        &host(&format!("localhost:{port}")),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // A loopback target does not excuse a foreign Host.
    let reply = raw(
        &url,
        &format!("GET http://localhost:{port}/access-token HTTP/1.1"),
        &host("attacker.example"),
    )
    .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[tokio::test]
async fn a_cross_site_request_cannot_revoke_the_users_tokens_through_the_proxy() {
    let (app, proxy, url, pat) = started().await;
    let port = port(&url);
    let local = format!("Host: 127.0.0.1:{port}");
    for extra in [
        "Origin: http://attacker.example",
        "Origin: null",
        "Origin: http://localhost.attacker.example",
        "Origin: http://127.0.0.1.nip.io",
        "Origin: https://attacker.example:443",
        "Origin: http://localhost/",
        "Origin: ",
        "Sec-Fetch-Site: cross-site",
        "Sec-Fetch-Site: something-new",
    ] {
        for request_line in [
            "POST /api/pat/v1/tokens/invalidate HTTP/1.1",
            "GET /access-token HTTP/1.1",
        ] {
            let headers = vec![local.clone(), extra.to_string(), "Content-Length: 0".into()];
            let reply = raw(&url, request_line, &headers).await;
            assert_eq!(
                reply.status, 403,
                "{extra} / {request_line}: {}",
                reply.body
            );
            let message = reply.error();
            let rule = extra.split(':').next().unwrap();
            assert!(
                message.contains(rule),
                "{extra}: the message does not name {rule}: {message}"
            );
        }
    }
    let twice = vec![
        local.clone(),
        "Origin: http://localhost".into(),
        "Origin: http://attacker.example".into(),
    ];
    assert_eq!(
        raw(&url, "GET /access-token HTTP/1.1", &twice).await.status,
        403
    );
    assert_eq!(proxy.exchanges(), 0, "a refused request acquired a token");
    app.assert_whoami(Auth::Bearer(&pat), 200).await;
}

#[tokio::test]
async fn software_on_this_machine_may_send_a_loopback_origin_and_same_site_fetch_metadata() {
    let (_app, _proxy, url, _) = started().await;
    let port = port(&url);
    for extra in [
        "Origin: http://localhost:8888".to_string(),
        format!("Origin: http://127.0.0.1:{port}"),
        "Origin: https://[::1]".to_string(),
        "Sec-Fetch-Site: same-origin".to_string(),
        "Sec-Fetch-Site: same-site".to_string(),
        "Sec-Fetch-Site: none".to_string(),
    ] {
        let headers = vec![format!("Host: localhost:{port}"), extra.clone()];
        let reply = raw(&url, "GET /access-token HTTP/1.1", &headers).await;
        assert_eq!(reply.status, 200, "{extra}: {}", reply.body);
        let reply = raw(&url, "GET /v4/users/self HTTP/1.1", &headers).await;
        assert_eq!(reply.status, 200, "{extra}: {}", reply.body);
        assert!(reply.body.contains("\"jane\""), "{extra}: {}", reply.body);
    }
}
