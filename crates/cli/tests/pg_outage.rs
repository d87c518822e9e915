//! PostgreSQL stopped under running nodes: they fail closed for what they cannot vouch for
//! (503, never a stale yes), and recover by themselves when it returns. A test binary of its
//! own, because it stops the machine's PostgreSQL for a few seconds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{cluster, http, refused_within};

fn pg_ctl(action: &str) -> bool {
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .expect("a PostgreSQL cluster under /etc/postgresql");
    let mut command = Command::new("pg_ctlcluster");
    command.args(["--skip-systemctl-redirect", &version, "main", action]);
    if action == "stop" {
        command.args(["-m", "fast"]);
    }
    command.status().is_ok_and(|s| s.success())
}

/// Starts PostgreSQL again however the test ends.
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        pg_ctl("start");
        for _ in 0..60 {
            if std::panic::catch_unwind(|| support::admin_sql("SELECT 'up'")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

fn status(node: &support::Server, path: &str, token: Option<&str>) -> u16 {
    http(node, "GET", path, token, None)
        .map(|r| r.0)
        .unwrap_or(0)
}

#[test]
fn nodes_fail_closed_while_postgres_is_down_and_recover_when_it_returns() {
    let c = cluster(2);
    let (status_code, body) = http(
        &c.nodes[0],
        "POST",
        "/api/pat/v1/tokens",
        Some(&c.admin),
        Some(json!({ "name": "warm", "expiresIn": 3600 })),
    )
    .unwrap();
    assert_eq!(status_code, 201);
    let (warm_id, warm) = (
        body["patId"].as_str().unwrap().to_string(),
        body["token"].as_str().unwrap().to_string(),
    );
    assert_eq!(status(&c.nodes[1], "/v4/users/self", Some(&warm)), 200);

    let restart = Restart;
    assert!(pg_ctl("stop"), "could not stop PostgreSQL");
    // Past the cache's time-to-live, a node cannot vouch for anything: 503, never a stale 200.
    std::thread::sleep(Duration::from_millis(1200));
    for node in &c.nodes {
        assert_eq!(
            status(node, "/v4/users/self", Some(&warm)),
            503,
            "{} vouched for a credential it could not check",
            node.base
        );
        assert_eq!(status(node, "/readyz", None), 503);
    }
    let (revoke, _) = http(
        &c.nodes[0],
        "POST",
        &format!("/api/pat/v1/tokens/{warm_id}/invalidate"),
        Some(&c.admin),
        None,
    )
    .unwrap();
    assert_eq!(
        revoke, 503,
        "a change that cannot be made durable is refused as unavailable"
    );
    drop(restart);

    // Both nodes come back by themselves.
    let deadline = Instant::now() + Duration::from_secs(30);
    for node in &c.nodes {
        while status(node, "/v4/users/self", Some(&warm)) != 200 {
            assert!(Instant::now() < deadline, "{} did not recover", node.base);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // And revocations propagate again, within the bound.
    let (s, _) = http(
        &c.nodes[0],
        "POST",
        &format!("/api/pat/v1/tokens/{warm_id}/invalidate"),
        Some(&c.admin),
        None,
    )
    .unwrap();
    assert_eq!(s, 200);
    let took = refused_within(&c.nodes[1], &warm, Duration::from_secs(2));
    eprintln!("after the restart, refused on the other node after {took:?}");
}
