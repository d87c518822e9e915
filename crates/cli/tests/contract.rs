//! The contract against the real `tessera serve`: `/openapi.json` validates with
//! `openapi-spec-validator`, and Schemathesis (both pinned in `e2e/python/requirements.txt`)
//! drives every operation with an administrator's PAT, on SQLite and on PostgreSQL, for a bounded
//! time: no 5xx, every response conforms to the document (status, content type, schema), and
//! input the document calls valid is accepted (the checks are in `e2e/python/schemathesis.toml`).
//! The stateful phase follows the document's links from each create to what it created.
//! Fails — never skips — without Python or PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

mod support;

use support::{
    PASSWORD, PgDatabase, SECRET, Server, cli, http, python, sqlite_url, start, stdout_line,
};

/// Seconds of fuzzing per backend for the operations that leave the fuzzer's credential alone;
/// `TESSERA_FUZZ_SECONDS` overrides it.
fn budget() -> String {
    std::env::var("TESSERA_FUZZ_SECONDS").unwrap_or_else(|_| "45".into())
}

/// Operations that can take the fuzzer's own credentials away (revoke or delete its PAT, all
/// PATs, change its roles, deactivate it): fuzzed last, in a pass of their own with a fresh PAT,
/// so that they do not turn the rest of the run into 401s.
const SELF_DESTRUCTIVE: &str = "^(revokeAllPats|deleteAllPats|revokePat|deletePat|rotatePat|revokePats|deletePats|adminRevokePat|adminDeletePat|setUserRoles|deactivateUser|regenerateApiKey)$";

fn admin_pat(database: &str, name: &str) -> String {
    stdout_line(&cli(
        database,
        &[
            ("TESSERA_ADMIN_PASSWORD", PASSWORD),
            ("TESSERA_SERVER_SECRET", SECRET),
        ],
        &[
            "admin",
            "token",
            "create",
            "--username",
            "admin",
            "--name",
            name,
        ],
    ))
}

/// A server whose failure throttle does not stop the fuzzer: it sends refused credentials on
/// purpose, and a throttled address would see nothing but 429s.
fn serve(dir: &Path, database: &str) -> Server {
    let config = dir.join("tessera.toml");
    std::fs::write(&config, "[throttle]\nmax_failures = 1000000\n").unwrap();
    start(
        dir,
        database,
        &[
            ("TESSERA_ADMIN_PASSWORD", PASSWORD),
            ("TESSERA_SERVER_SECRET", SECRET),
            ("TESSERA_CONFIG", config.to_str().unwrap()),
        ],
    )
}

/// Both passes, each with a PAT of its own.
fn fuzz(dir: &Path, database: &str) {
    let server = serve(dir, database);
    let everything_else = ["--exclude-operation-id-regex", SELF_DESTRUCTIVE];
    schemathesis(
        dir,
        &server,
        &admin_pat(database, "fuzz"),
        &budget(),
        &everything_else,
    );
    let destructive = ["--include-operation-id-regex", SELF_DESTRUCTIVE];
    schemathesis(
        dir,
        &server,
        &admin_pat(database, "fuzz-last"),
        "15",
        &destructive,
    );
}

/// Schemathesis fills every security scheme the document offers, so the fuzzer carries both:
/// a PAT in `Authorization` and an API key in `X-Domino-Api-Key` (which the server reads first).
fn schemathesis(dir: &Path, server: &Server, pat: &str, seconds: &str, selection: &[&str]) {
    let (status, body) =
        http(server, "POST", "/api/apiKey/v1/regenerate", Some(pat), None).unwrap();
    assert_eq!(status, 201, "{body}");
    let api_key = body["apiKey"].as_str().unwrap().to_string();
    let python = python();
    let bin = python.with_file_name("schemathesis");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e/python/schemathesis.toml");
    let output = Command::new(bin)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/openapi.json", server.base)])
        .args(["--url", &server.base])
        .args(["--header", &format!("Authorization: Bearer {pat}")])
        .args(["--header", &format!("X-Domino-Api-Key: {api_key}")])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-time", seconds])
        .args(selection)
        .args(["--max-examples", "40"])
        .args(["--workers", "1"])
        .args(["--seed", "14"])
        .args(["--suppress-health-check", "all"])
        .env("NO_COLOR", "1")
        .current_dir(dir)
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
    fuzz(dir.path(), &sqlite_url(dir.path()));
}

#[test]
fn schemathesis_finds_nothing_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = PgDatabase::create();
    fuzz(dir.path(), &db.url);
}
