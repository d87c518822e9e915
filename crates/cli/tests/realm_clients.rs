//! The realm with the libraries integrators use: `e2e/realm.test.mjs` runs node `jose` and
//! `oauth4webapi` against the real `tessera serve`. Fails — never skips — without Node and npm.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::server_with_jane;

fn e2e() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .join("e2e")
}

#[test]
fn node_jose_and_oauth4webapi_accept_tessera_access_tokens() {
    let e2e = e2e();
    if !e2e.join("node_modules/oauth4webapi").exists() || !e2e.join("node_modules/jose").exists() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&e2e)
            .output()
            .unwrap_or_else(|e| panic!("npm cannot start ({e}); install Node.js and npm"));
        assert!(
            installed.status.success(),
            "npm ci failed: {}",
            String::from_utf8_lossy(&installed.stderr)
        );
    }
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
