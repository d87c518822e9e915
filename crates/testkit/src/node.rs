//! The Node.js packages of `e2e/` (Chromium driver, node `jose`, `oauth4webapi`, `oidc-provider`),
//! installed by the first test that needs them when `.ci/run` has not.

use std::fs::File;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The workspace's `e2e/` directory, with the packages of its `package-lock.json` installed.
///
/// The first call in a process runs `npm ls` (about half a second) and, when a package is missing
/// or differs from the lock file, `npm ci`; later calls return at once. Test binaries that run at
/// the same time take turns through a lock file in `target/`, so two never install at once.
///
/// # Panics
/// When Node.js or npm cannot start, or `npm ci` fails, with npm's message.
pub fn e2e_packages() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY.get_or_init(install).clone()
}

fn install() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let e2e = workspace.join("e2e");
    let target = workspace.join("target");
    std::fs::create_dir_all(&target).expect("target/ can be created");
    let lock =
        File::create(target.join("e2e-npm.lock")).expect("target/e2e-npm.lock can be created");
    lock.lock().expect("target/e2e-npm.lock can be locked");
    let npm = |args: &[&str]| {
        Command::new("npm")
            .args(args)
            .current_dir(&e2e)
            .output()
            .unwrap_or_else(|e| panic!("npm cannot start ({e}); install Node.js and npm"))
    };
    if !npm(&["ls", "--depth=0"]).status.success() {
        let installed = npm(&["ci", "--no-audit", "--no-fund"]);
        assert!(
            installed.status.success(),
            "npm ci in e2e/ failed: {}",
            String::from_utf8_lossy(&installed.stderr)
        );
    }
    e2e
}
