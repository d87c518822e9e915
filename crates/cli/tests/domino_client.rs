//! The real `dominodatalab` Python client (pinned in `e2e/python/requirements.txt`) against the
//! real `tessera serve`: its version check, `/v4/users/self`, projects create/list/find and
//! collaborators, with a PAT and with the legacy API key. Fails — never skips — without Python.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

mod support;

use support::{PASSWORD, http, python, server_with_jane, workspace};

#[test]
fn the_dominodatalab_client_works_against_tessera() {
    let dir = tempfile::tempdir().unwrap();
    let (server, database, jane) = server_with_jane(dir.path());
    let envs = [("TESSERA_ADMIN_PASSWORD", PASSWORD)];
    let admin = support::operator_token(&database, &envs, "admin", "domino");
    let (status, body) = http(
        &server,
        "POST",
        "/api/admin/v1/users",
        Some(&admin),
        Some(serde_json::json!({ "userName": "bob", "email": "bob@example.com" })),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(
        &server,
        "POST",
        "/api/apiKey/v1/regenerate",
        Some(&jane),
        None,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let api_key = body["apiKey"].as_str().unwrap().to_string();
    let output = Command::new(python())
        .arg(workspace().join("e2e/python/domino_client.py"))
        .env("TESSERA_URL", &server.base)
        .env("JANE_PAT", &jane)
        .env("JANE_API_KEY", &api_key)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the dominodatalab client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
