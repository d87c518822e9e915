//! Several real `tessera serve` processes on one PostgreSQL database: a revocation acknowledged
//! by one node is refused by the others quickly, also when a node's listening connection is
//! killed. Bounds asserted here are generous; the benchmark measures the real figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Cluster, ENVS, PgDatabase, Server, admin_sql, cluster, http, refused_within, start};

fn pat(c: &Cluster, name: &str) -> (String, String) {
    let (status, body) = http(
        &c.nodes[0],
        "POST",
        "/api/pat/v1/tokens",
        Some(&c.admin),
        Some(json!({ "name": name, "expiresIn": 3600 })),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    (
        body["patId"].as_str().unwrap().to_string(),
        body["token"].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_revocation_on_one_node_is_refused_by_the_others_at_once() {
    let c = cluster(3);
    let (id, token) = pat(&c, "victim");
    for node in &c.nodes {
        assert_eq!(
            http(node, "GET", "/v4/users/self", Some(&token), None)
                .unwrap()
                .0,
            200,
            "warm {}",
            node.base
        );
    }
    let (status, _) = http(
        &c.nodes[0],
        "POST",
        &format!("/api/pat/v1/tokens/{id}/invalidate"),
        Some(&c.admin),
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    // 500 ms: generous against the 100 ms target, and well under the 1 s time-to-live that
    // would refuse it even without a notification.
    for node in &c.nodes[1..] {
        let took = refused_within(node, &token, Duration::from_millis(500));
        eprintln!("{} refused the revoked token after {took:?}", node.base);
    }
    // Role changes travel the same way: the user's access tokens die everywhere.
    let (_, user) = http(
        &c.nodes[0],
        "POST",
        "/api/admin/v1/users",
        Some(&c.admin),
        Some(json!({ "userName": "jane", "email": "jane@example.com" })),
    )
    .unwrap();
    let jane = support::operator_token(&c.db.url, ENVS, "jane", "j");
    assert_eq!(
        http(&c.nodes[2], "GET", "/v4/users/self", Some(&jane), None)
            .unwrap()
            .0,
        200
    );
    let path = format!("/api/admin/v1/users/{}/roles", user["id"].as_str().unwrap());
    assert_eq!(
        http(
            &c.nodes[1],
            "PUT",
            &path,
            Some(&c.admin),
            Some(json!({ "roles": ["Librarian"] }))
        )
        .unwrap()
        .0,
        200
    );
    refused_within(&c.nodes[2], &jane, Duration::from_millis(500));
}

#[test]
fn killing_a_nodes_listening_connection_does_not_break_the_bound() {
    let c = cluster(2);
    let (id, token) = pat(&c, "victim");
    assert_eq!(
        http(&c.nodes[1], "GET", "/v4/users/self", Some(&token), None)
            .unwrap()
            .0,
        200
    );
    let killed = admin_sql(&format!(
        "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE datname = '{}' AND query ILIKE 'LISTEN%'",
        c.db.name
    ));
    assert_eq!(
        killed.len(),
        2,
        "one listening connection per node: {killed:?}"
    );
    let (status, _) = http(
        &c.nodes[0],
        "POST",
        &format!("/api/pat/v1/tokens/{id}/invalidate"),
        Some(&c.admin),
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    let took = refused_within(&c.nodes[1], &token, Duration::from_secs(2));
    eprintln!("refused after {took:?} with the listener killed");

    // The listener comes back: later revocations propagate fast again.
    std::thread::sleep(Duration::from_millis(1500));
    let (id, token) = pat(&c, "second");
    assert_eq!(
        http(&c.nodes[1], "GET", "/v4/users/self", Some(&token), None)
            .unwrap()
            .0,
        200
    );
    assert_eq!(
        http(
            &c.nodes[0],
            "POST",
            &format!("/api/pat/v1/tokens/{id}/invalidate"),
            Some(&c.admin),
            None
        )
        .unwrap()
        .0,
        200
    );
    refused_within(&c.nodes[1], &token, Duration::from_millis(500));
}

#[test]
fn nodes_starting_together_share_one_admin_and_one_active_key() {
    let db = PgDatabase::create();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let handles: Vec<_> = dirs
        .iter()
        .map(|d| {
            let (path, url) = (d.path().to_path_buf(), db.url.clone());
            std::thread::spawn(move || start(&path, &url, ENVS))
        })
        .collect();
    let nodes: Vec<Server> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(admin_count(&db), vec!["1".to_string()]);
    let admin = support::operator_token(&db.url, ENVS, "admin", "ops");
    for node in &nodes {
        assert_eq!(
            http(node, "GET", "/v4/users/self", Some(&admin), None)
                .unwrap()
                .0,
            200
        );
    }
}

fn admin_count(db: &PgDatabase) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM principals WHERE user_name = 'admin'")
                .fetch_one(&pool)
                .await
                .unwrap();
        vec![n.to_string()]
    })
}

/// An access token minted by node B from a PAT, then the PAT revoked on node A: node B (and
/// node C, which only ever saw the JWT) refuse the JWT within the bound of SPEC section 9.
#[test]
fn a_jwt_dies_on_every_node_when_its_source_is_revoked_on_one() {
    let c = cluster(3);
    let (id, token) = pat(&c, "source");
    let jwt = support::exchange(&c.nodes[1], &token);
    for node in &c.nodes {
        let (status, _) = http(node, "GET", "/v4/users/self", Some(&jwt), None).unwrap();
        assert_eq!(status, 200, "warm {}", node.base);
    }
    let (status, _) = http(
        &c.nodes[0],
        "POST",
        &format!("/api/pat/v1/tokens/{id}/invalidate"),
        Some(&token),
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    for node in &c.nodes {
        let took = refused_within(node, &jwt, Duration::from_millis(500));
        eprintln!(
            "{} refused the JWT of a revoked PAT after {took:?}",
            node.base
        );
    }
}

/// A node started with another server secret than the others refuses to start and says what
/// to do, instead of a bare "cannot be read".
#[test]
fn a_node_with_a_different_server_secret_says_the_nodes_need_the_same_one() {
    let c = cluster(1);
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(support::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &c.db.url])
        .current_dir(dir.path())
        .env(
            "TESSERA_SERVER_SECRET",
            "another-secret-of-at-least-32-characters!",
        )
        .env_remove("TESSERA_ADMIN_PASSWORD")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Every node sharing a database needs the same TESSERA_SERVER_SECRET"),
        "{stderr}"
    );
}
