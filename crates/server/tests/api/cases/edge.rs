//! The listener's edge: the client address behind trusted proxies (one address for the throttle,
//! the audit log and `lastUsedAt`), the login throttle under concurrency, metrics only on the
//! management listener, and slow clients cut without stopping others.

use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{COOKIE, SET_COOKIE};
use tessera_server::client_addr::TrustedProxies;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cases::ui::hidden;
use crate::helpers::{ADMIN_PASSWORD, Auth, TestApp, spawn_app_with};

/// Logs in through the form as a client whose load balancer says it is `xff`; the status.
async fn login_from(app: &TestApp, xff: &str, user: &str, password: &str) -> u16 {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = client
        .get(format!("{}/ui/login", app.address))
        .header("x-forwarded-for", xff)
        .send()
        .await
        .unwrap();
    let cookie = form.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    client
        .post(format!("{}/ui/login", app.address))
        .header("x-forwarded-for", xff)
        .header(COOKIE, cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", user),
            ("password", password),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn fail_tokens_from(app: &TestApp, xff: &str, times: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..times {
        let reply = app
            .client
            .get(format!("{}/v4/users/self", app.address))
            .header("authorization", "Bearer tpat_wrong")
            .header("x-forwarded-for", xff)
            .send()
            .await
            .unwrap();
        statuses.push(reply.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn behind_a_trusted_balancer_one_clients_failures_do_not_throttle_another() {
    let app = spawn_app_with(|c| {
        c.trusted_proxies = TrustedProxies::parse(&["127.0.0.0/8"]).unwrap();
    })
    .await;
    let statuses = fail_tokens_from(&app, "203.0.113.66", 61).await;
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 60);
    assert_eq!(statuses.last(), Some(&429));
    // Another client behind the same balancer logs in with the right password.
    assert_eq!(
        login_from(&app, "198.51.100.7", "admin", ADMIN_PASSWORD).await,
        303
    );
    // The throttled client stays throttled, and a forged left-most entry does not help it.
    assert_eq!(
        login_from(&app, "198.51.100.7, 203.0.113.66", "admin", ADMIN_PASSWORD).await,
        429
    );
}

#[tokio::test]
async fn without_trusted_proxies_the_forwarded_for_header_is_not_believed() {
    let app = spawn_app_with(|_| {}).await;
    let statuses = fail_tokens_from(&app, "203.0.113.66", 61).await;
    assert_eq!(statuses.last(), Some(&429));
    // Every request came from 127.0.0.1, whatever it claimed: the address is throttled.
    assert_eq!(
        login_from(&app, "198.51.100.7", "admin", ADMIN_PASSWORD).await,
        429
    );
}

#[tokio::test]
async fn the_client_address_is_what_the_audit_log_and_last_used_record() {
    let app = spawn_app_with(|c| {
        c.trusted_proxies = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
    })
    .await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let created = app
        .client
        .post(format!("{}/api/pat/v1/tokens", app.address))
        .bearer_auth(&jane)
        .header("x-forwarded-for", "198.51.100.23")
        .json(&serde_json::json!({"name": "from-lb", "expiresIn": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let audit = app
        .admin_get("/api/admin/v1/audit?action=pat.created")
        .await;
    audit.assert_status(200);
    let text = audit.body.to_string();
    assert!(text.contains("198.51.100.23"), "{text}");
    assert!(!text.contains("127.0.0.1"), "{text}");
}

#[tokio::test]
async fn concurrent_password_attempts_cannot_pass_the_limit() {
    let app = spawn_app_with(|c| c.throttle.max_failures = 10).await;
    let attempts = (0..40).map(|i| {
        let app = &app;
        async move {
            let password = if i == 39 { ADMIN_PASSWORD } else { "wrong" };
            login_from(app, "192.0.2.1", "admin", password).await
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s != 429).count();
    assert!(
        checked <= 10,
        "{checked} attempts were checked: {statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 30,
        "{statuses:?}"
    );
    // Over the limit, even the right password is not tried.
    assert_eq!(login_from(&app, "", "admin", ADMIN_PASSWORD).await, 429);
}

#[tokio::test]
async fn a_correct_password_does_not_use_up_the_allowance() {
    let app = spawn_app_with(|c| c.throttle.max_failures = 3).await;
    for _ in 0..6 {
        assert_eq!(login_from(&app, "", "admin", ADMIN_PASSWORD).await, 303);
    }
    for _ in 0..3 {
        assert_eq!(login_from(&app, "", "admin", "wrong").await, 401);
    }
    assert_eq!(login_from(&app, "", "admin", ADMIN_PASSWORD).await, 429);
}

#[tokio::test]
async fn metrics_are_served_on_the_management_listener_only() {
    let app = spawn_app_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    app.assert_whoami(Auth::Bearer(&jane), 200).await;
    app.assert_whoami(Auth::Bearer("tpat_wrong"), 401).await;
    app.send(Method::GET, "/metrics", Auth::None, None)
        .await
        .assert_status(404);
    let metrics = app.metrics_address.clone().expect("metrics listener");
    let response = app
        .client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().unwrap()))
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
    };
    assert!(value("tessera_http_responses_total{class=\"2xx\"}") >= 2.0);
    assert!(value("tessera_http_responses_total{class=\"4xx\"}") >= 1.0);
    assert!(value("tessera_authentications_total{kind=\"pat\"}") >= 1.0);
    assert_eq!(value("tessera_authentication_failures_total"), 1.0);
    assert!(value("tessera_cached_credentials") >= 1.0);
    assert!(value("tessera_http_request_duration_seconds_count{route=\"api\"}") >= 3.0);
    assert!(value("tessera_authentication_duration_seconds_count{kind=\"refused\"}") >= 1.0);
    assert!(!text.contains("tpat_") && !text.contains("jane"));
    // Without metrics_listen, there is no metrics listener at all.
    let plain = spawn_app_with(|_| {}).await;
    assert!(plain.metrics_address.is_none());
}

/// Opens a connection that sends half a request head and then nothing.
async fn slow_client(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    stream
}

#[tokio::test]
async fn slow_clients_are_cut_and_others_are_still_served() {
    let app = spawn_app_with(|c| {
        c.listener.max_connections = 40;
        c.listener.header_timeout = Duration::from_secs(2);
        c.listener.header_timeout_under_load = Duration::from_secs(1);
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_string();
    let mut slow = Vec::new();
    for _ in 0..80 {
        slow.push(slow_client(&address).await);
    }
    // Twice as many slow clients as connections allowed: a normal request still gets its
    // answer once the slow ones are cut.
    let started = Instant::now();
    let reply = tokio::time::timeout(
        Duration::from_secs(20),
        reqwest::Client::new()
            .get(format!("{}/healthz", app.address))
            .send(),
    )
    .await
    .expect("a normal client was not served while slow clients held the listener")
    .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(20));
    // The first slow clients were closed by the server, not left open.
    let mut closed = 0;
    for stream in slow.iter_mut().take(40) {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(closed, 40, "slow clients left open");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_time_limit() {
    let app = spawn_app_with(|c| c.listener.header_timeout = Duration::from_secs(1)).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Then silence: the server closes the connection (read returns 0) within the limit.
    let eof = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("idle connection kept open");
    assert!(matches!(eof, Ok(0) | Err(_)));
}

#[tokio::test]
async fn a_request_head_over_the_limit_is_refused() {
    let app = spawn_app_with(|c| c.listener.header_bytes = 8192).await;
    let big = "a".repeat(16 * 1024);
    let reply = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-big", big)
        .send()
        .await;
    // hyper answers 431 or closes the connection; either way the request is not served.
    if let Ok(reply) = reply {
        assert_eq!(reply.status().as_u16(), 431);
    }
    app.send(Method::GET, "/healthz", Auth::None, None)
        .await
        .assert_status(200);
}
