//! The contract against the real `tessera serve`: `/openapi.json` validates with
//! `openapi-spec-validator`, and Schemathesis (both pinned in `e2e/python/requirements.txt`)
//! drives every operation with an administrator's PAT, on SQLite and on PostgreSQL, for a bounded
//! time: no 5xx, and every response conforms to the document (status, content type, schema).
//! Fails — never skips — without Python or PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

mod support;

use support::{PASSWORD, PgDatabase, Server, cli, http, python, sqlite_url, start, stdout_line};

/// Seconds of fuzzing per backend; `TESSERA_FUZZ_SECONDS` overrides it.
fn budget() -> String {
    std::env::var("TESSERA_FUZZ_SECONDS").unwrap_or_else(|_| "60".into())
}

fn admin_pat(database: &str) -> String {
    stdout_line(&cli(
        database,
        &[("TESSERA_ADMIN_PASSWORD", PASSWORD)],
        &[
            "admin",
            "token",
            "create",
            "--username",
            "admin",
            "--name",
            "fuzz",
        ],
    ))
}

/// A server whose failure throttle does not stop the fuzzer: it sends refused credentials on
/// purpose, and a throttled address would see nothing but 429s.
fn serve(dir: &Path, database: &str) -> (Server, String) {
    let config = dir.join("tessera.toml");
    std::fs::write(&config, "[throttle]\nmax_failures = 1000000\n").unwrap();
    let server = start(
        dir,
        database,
        &[
            ("TESSERA_ADMIN_PASSWORD", PASSWORD),
            ("TESSERA_CONFIG", config.to_str().unwrap()),
        ],
    );
    let pat = admin_pat(database);
    (server, pat)
}

fn schemathesis(server: &Server, pat: &str, report: &Path) {
    let python = python();
    let bin = python.with_file_name("schemathesis");
    let output = Command::new(bin)
        .args(["run", &format!("{}/openapi.json", server.base)])
        .args(["--url", &server.base])
        .args(["--header", &format!("Authorization: Bearer {pat}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-time", &budget()])
        .args(["--max-examples", "40"])
        .args(["--workers", "2"])
        .args(["--seed", "14"])
        .args(["--suppress-health-check", "all"])
        .args(["--report", "junit"])
        .arg("--report-dir")
        .arg(report)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "schemathesis found failures against {}:\n{}\n{}",
        server.base,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_document_is_valid_openapi() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(dir.path());
    let server = start(
        dir.path(),
        &database,
        &[("TESSERA_ADMIN_PASSWORD", PASSWORD)],
    );
    let (status, document) = http(&server, "GET", "/openapi.json", None, None).unwrap();
    assert_eq!(status, 200);
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, document.to_string()).unwrap();
    let validator = python().with_file_name("openapi-spec-validator");
    let output = Command::new(validator).arg(&file).output().unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator refused /openapi.json:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn schemathesis_finds_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (server, pat) = serve(dir.path(), &sqlite_url(dir.path()));
    schemathesis(&server, &pat, &dir.path().join("report"));
}

#[test]
fn schemathesis_finds_nothing_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = PgDatabase::create();
    let (server, pat) = serve(dir.path(), &db.url);
    schemathesis(&server, &pat, &dir.path().join("report"));
}
