//! The realm with the libraries integrators use: `e2e/realm.test.mjs` runs node `jose` and
//! `oauth4webapi` against the real `tessera serve`. Fails — never skips — without Node and npm.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

mod support;

use support::server_with_jane;

#[test]
fn node_jose_and_oauth4webapi_accept_tessera_access_tokens() {
    let e2e = tessera_testkit::e2e_packages();
    let dir = tempfile::tempdir().unwrap();
    let (server, _, jane) = server_with_jane(dir.path());
    let output = Command::new("node")
        .args(["--test", "realm.test.mjs"])
        .current_dir(&e2e)
        .env("TESSERA_URL", &server.base)
        .env("TESSERA_PAT", &jane)
        .output()
        .unwrap_or_else(|e| panic!("node cannot start ({e}); install Node.js"));
    assert!(
        output.status.success(),
        "the realm failed with node's libraries:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
