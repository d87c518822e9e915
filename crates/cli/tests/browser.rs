//! The web UI in a real browser: starts the real `tessera serve`, then runs the Playwright suite
//! in `e2e/` (Node's test runner, `playwright-core` driving Debian's Chromium). Fails — never
//! skips — when Node, npm or Chromium is missing. Screenshots of the main pages land in
//! `target/e2e-output/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::{PASSWORD, SECRET, sqlite_url};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn chromium() -> String {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "Chromium is not installed at {path} (apt-get install chromium; .ci/run does): the browser tests cannot run"
    );
    path
}

fn run(command: &mut Command, what: &str) -> std::process::Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("{what} cannot start ({e}); install Node.js and npm"))
}

/// The last lines of a log, for a failure message.
fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[test]
fn the_web_ui_works_in_chromium() {
    let chromium = chromium();
    let e2e = tessera_testkit::e2e_packages();
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(dir.path());
    let server = support::start(
        dir.path(),
        &database,
        &[
            ("TESSERA_ADMIN_PASSWORD", PASSWORD),
            ("TESSERA_SERVER_SECRET", SECRET),
        ],
    );
    let output = workspace().join("target/e2e-output");
    let result = run(
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "ui.test.mjs"])
            .current_dir(&e2e)
            .env("TESSERA_URL", &server.base)
            .env("TESSERA_ADMIN_PASSWORD", PASSWORD)
            .env("E2E_OUTPUT", &output)
            .env("CHROMIUM", &chromium),
        "node",
    );
    let stdout = String::from_utf8_lossy(&result.stdout);
    println!("{stdout}");
    assert!(
        result.status.success(),
        "the browser tests failed:\n{stdout}\n{}\nthe server's last log lines:\n{}",
        String::from_utf8_lossy(&result.stderr),
        log_tail(&dir.path().join("stderr.log"))
    );
    assert!(
        stdout.contains("# fail 0") && !stdout.contains("# pass 0"),
        "{stdout}"
    );
    for page in [
        "login",
        "account",
        "token-created",
        "token-revoked",
        "api-key",
        "account-phone",
    ] {
        assert!(
            output.join(format!("{page}.png")).exists(),
            "no screenshot of {page}"
        );
    }
}
