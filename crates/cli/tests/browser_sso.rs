//! Single sign-on in a real browser: starts `oidc-provider` (e2e/oidc-idp.mjs) and the real
//! `tessera serve` with a `[[sso.providers]]` entry and passwords switched off but for the
//! break-glass admin, then runs `e2e/sso.test.mjs` in Chromium, which signs in through the
//! provider's own pages. Fails, never skips, when Node, npm or Chromium is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod support;

use support::{PASSWORD, SECRET, sqlite_url};

fn e2e() -> PathBuf {
    tessera_testkit::e2e_packages()
}

/// The provider process, killed on drop.
struct Idp(std::process::Child);

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn single_sign_on_works_in_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is not installed at {chromium}"
    );
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("idp.json");
    std::fs::write(
        &state,
        r#"{"accounts":{"ann":{"preferred_username":"ann.smith","email":"ann@corp.example","groups":["data-admins"]}}}"#,
    )
    .unwrap();
    let mut child = Command::new("node")
        .arg(e2e().join("oidc-idp.mjs"))
        .arg(&state)
        .current_dir(e2e())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs e2e/oidc-idp.mjs");
    let mut line = String::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    reader.read_line(&mut line).unwrap();
    // Keep reading: a closed pipe would kill the provider at its next line of output.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let _idp = Idp(child);
    let issuer = line.trim().strip_prefix("listening ").unwrap().to_string();
    let config = dir.path().join("tessera.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[sso]
local_login = false
break_glass_admin = "admin"

[[sso.providers]]
name = "corp"
issuer = "{issuer}"
client_id = "tessera"
client_secret = "tessera-client-secret"
scopes = ["openid", "profile", "email", "groups"]
role_mapping = {{ "data-admins" = "SysAdmin" }}
"#
        ),
    )
    .unwrap();
    let database = sqlite_url(dir.path());
    let server = support::start(
        dir.path(),
        &database,
        &[
            ("TESSERA_ADMIN_PASSWORD", PASSWORD),
            ("TESSERA_SERVER_SECRET", SECRET),
            ("TESSERA_CONFIG", config.to_str().unwrap()),
        ],
    );
    let output = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-output");
    let result = Command::new("node")
        .args(["--test", "--test-concurrency=1", "sso.test.mjs"])
        .current_dir(e2e())
        .env("TESSERA_URL", &server.base)
        .env("TESSERA_ADMIN_PASSWORD", PASSWORD)
        .env("E2E_OUTPUT", &output)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success() && stdout.contains("# fail 0") && !stdout.contains("# pass 0"),
        "the SSO browser tests failed:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&result.stderr),
        std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default()
    );
}
