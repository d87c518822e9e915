//! The real `tessera` binary as an operator runs it: first start, CLI commands beside a running
//! server, kill -9 after an acknowledged revoke, SIGTERM flushing writes, secrets kept out of logs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;

use support::{PASSWORD, Server, http, sqlite_url, stdout_line};

fn database(dir: &Path) -> String {
    sqlite_url(dir)
}

/// Starts `tessera serve` on SQLite in `dir`, with `admin_password` if given.
fn start(dir: &Path, admin_password: Option<&str>) -> Server {
    let envs: Vec<(&str, &str)> = admin_password
        .map(|p| ("TESSERA_ADMIN_PASSWORD", p))
        .into_iter()
        .collect();
    support::start(dir, &database(dir), &envs)
}

fn cli(dir: &Path, args: &[&str]) -> Output {
    support::cli(&database(dir), &[], args)
}

fn sigterm(server: &mut Server) {
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let signalled = Instant::now();
    let deadline = signalled + Duration::from_secs(20);
    loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            assert!(exit.success(), "tessera exited with {exit} after SIGTERM");
            eprintln!("stopped {:?} after SIGTERM", signalled.elapsed());
            return;
        }
        assert!(
            Instant::now() < deadline,
            "tessera did not stop within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn first_start_prints_a_generated_admin_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = start(dir.path(), None);
    sigterm(&mut first);
    let stdout = std::fs::read_to_string(dir.path().join("stdout.log")).unwrap();
    assert_eq!(stdout.matches("Password:").count(), 1, "{stdout}");
    let mut second = start(dir.path(), None);
    sigterm(&mut second);
    let stdout = std::fs::read_to_string(dir.path().join("stdout.log")).unwrap();
    assert_eq!(
        stdout.matches("Password:").count(),
        1,
        "a second start printed a password again: {stdout}"
    );
}

#[test]
fn the_cli_creates_users_and_tokens_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), Some(PASSWORD));

    let id = stdout_line(&cli(
        dir.path(),
        &[
            "admin",
            "user",
            "create",
            "--username",
            "Bob",
            "--email",
            "bob@example.com",
            "--first-name",
            "Bob",
            "--role",
            "Practitioner",
            "--role",
            "Librarian",
        ],
    ));
    assert!(uuid_like(&id), "{id}");
    let token = stdout_line(&cli(
        dir.path(),
        &[
            "admin",
            "token",
            "create",
            "--username",
            "bob",
            "--name",
            "laptop",
            "--expires-in",
            "3600",
        ],
    ));
    assert!(token.starts_with("tpat_"), "{token}");

    let (status, me) = http(&server, "GET", "/v4/users/self", Some(&token), None).unwrap();
    assert_eq!((status, me["userName"].as_str()), (200, Some("bob")));

    let refused = cli(
        dir.path(),
        &[
            "admin",
            "token",
            "create",
            "--username",
            "nobody",
            "--name",
            "x",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not found"));
    let bad = cli(
        dir.path(),
        &[
            "admin",
            "token",
            "create",
            "--username",
            "bob",
            "--name",
            "bad name",
        ],
    );
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("name"));
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[test]
fn a_revoke_acknowledged_before_kill_9_survives_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), Some(PASSWORD));
    let admin = support::operator_token(&database(dir.path()), &[], "admin", "ops");
    let (status, created) = http(
        &server,
        "POST",
        "/api/pat/v1/tokens",
        Some(&admin),
        Some(json!({ "name": "victim", "expiresIn": 3600 })),
    )
    .unwrap();
    assert_eq!(status, 201);
    let victim = created["token"].as_str().unwrap().to_string();
    assert_eq!(
        http(&server, "GET", "/v4/users/self", Some(&victim), None)
            .unwrap()
            .0,
        200
    );

    let path = format!(
        "/api/pat/v1/tokens/{}/invalidate",
        created["patId"].as_str().unwrap()
    );
    assert_eq!(
        http(&server, "POST", &path, Some(&admin), None).unwrap().0,
        200
    );
    server.child.kill().unwrap(); // SIGKILL, right after the acknowledgement
    server.child.wait().unwrap();

    let restarted = start(dir.path(), Some(PASSWORD));
    assert_eq!(
        http(&restarted, "GET", "/v4/users/self", Some(&victim), None)
            .unwrap()
            .0,
        401
    );
    assert_eq!(
        http(&restarted, "GET", "/v4/users/self", Some(&admin), None)
            .unwrap()
            .0,
        200
    );
}

#[test]
fn sigterm_flushes_last_used_and_secrets_never_reach_logs_or_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), Some(PASSWORD));
    let admin = support::operator_token(&database(dir.path()), &[], "admin", "ops");
    let (_, created) = http(
        &server,
        "POST",
        "/api/pat/v1/tokens",
        Some(&admin),
        Some(json!({ "name": "used", "expiresIn": 3600 })),
    )
    .unwrap();
    let used = created["token"].as_str().unwrap().to_string();
    let (_, key) = http(
        &server,
        "POST",
        "/api/apiKey/v1/regenerate",
        Some(&admin),
        None,
    )
    .unwrap();
    let api_key = key["apiKey"].as_str().unwrap().to_string();
    assert_eq!(
        http(&server, "GET", "/v4/users/self", Some(&used), None)
            .unwrap()
            .0,
        200
    );
    // A failed attempt with a near-miss secret must not be logged either.
    // (Another last character than the secret's own: one secret in 62 ends with `x`.)
    let last = if used.ends_with('x') { 'y' } else { 'x' };
    let near_miss = format!("{}{last}", &used[..used.len() - 1]);
    assert_eq!(
        http(&server, "GET", "/v4/users/self", Some(&near_miss), None)
            .unwrap()
            .0,
        401
    );
    sigterm(&mut server);

    let restarted = start(dir.path(), Some(PASSWORD));
    let (_, listed) = http(&restarted, "GET", "/api/pat/v1/tokens", Some(&admin), None).unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "used")
        .cloned()
        .unwrap();
    assert!(
        entry["lastUsedAt"].is_string(),
        "lastUsedAt lost on SIGTERM: {entry}"
    );
    drop(restarted);

    let mut haystack = Vec::new();
    for name in ["stdout.log", "stderr.log"] {
        haystack.extend(std::fs::read(dir.path().join(name)).unwrap());
    }
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        haystack.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let text = String::from_utf8_lossy(&haystack);
    for secret in [&admin, &used, &api_key, &near_miss] {
        assert!(
            !text.contains(secret.as_str()),
            "a secret appears in the logs or the database"
        );
        assert!(
            !text.contains(&secret[5..]),
            "a secret's body appears in the logs or the database"
        );
    }
}

#[test]
fn a_key_rotated_from_the_command_line_reaches_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), Some(PASSWORD));
    let kids = || -> Vec<String> {
        let (_, jwks) = http(
            &server,
            "GET",
            "/auth/realms/DominoRealm/protocol/openid-connect/certs",
            None,
            None,
        )
        .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    };
    let before = kids();
    assert_eq!(before.len(), 1);
    let out = stdout_line(&cli(
        dir.path(),
        &["admin", "keys", "rotate", "--algorithm", "EdDSA"],
    ));
    let new_kid = out.split(' ').next().unwrap().to_string();
    assert!(out.ends_with(" EdDSA"), "{out}");
    let bad = cli(
        dir.path(),
        &["admin", "keys", "rotate", "--algorithm", "HS256"],
    );
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("algorithm"));

    // The server re-reads its keys every few seconds.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !kids().contains(&new_kid) {
        assert!(
            Instant::now() < deadline,
            "the running server never published {new_kid}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        kids().contains(&before[0]),
        "the retired key must stay published"
    );
    let admin = support::operator_token(&database(dir.path()), &[], "admin", "ops");
    let form =
        format!("grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token={admin}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token: Value = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!(
                "{}/auth/realms/DominoRealm/protocol/openid-connect/token",
                server.base
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let header = token["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_string();
    let header = String::from_utf8(base64_url_decode(&header)).unwrap();
    assert!(
        header.contains(&new_kid),
        "new tokens are not signed with the new key: {header}"
    );
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// SIGTERM while 16 keep-alive clients rotate PATs on PostgreSQL (issue #19: it once took
/// 320 s): the node drains, writes every pending last use — also of PATs first used just
/// before the signal — and exits within the bound of `sigterm`.
#[test]
fn sigterm_under_load_on_postgres_flushes_last_used_and_exits_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::PgDatabase::create();
    let envs = [
        ("TESSERA_ADMIN_PASSWORD", PASSWORD),
        ("TESSERA_SERVER_SECRET", support::SECRET),
    ];
    let mut server = support::start(dir.path(), &db.url, &envs);
    let admin = support::operator_token(&db.url, &envs, "admin", "ops");
    let tokens: Vec<String> = (0..40)
        .map(|i| {
            let (status, body) = http(
                &server,
                "POST",
                "/api/pat/v1/tokens",
                Some(&admin),
                Some(json!({ "name": format!("t{i}"), "expiresIn": 3600 })),
            )
            .unwrap();
            assert_eq!(status, 201, "{body}");
            body["token"].as_str().unwrap().to_string()
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/v4/users/self", server.base);
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // The first half rotates until the server stops answering.
    let load: Vec<_> = (0..16)
        .map(|n| {
            let (client, url, served) = (client.clone(), url.clone(), served.clone());
            let tokens = tokens[..20].to_vec();
            runtime.spawn(async move {
                for i in (n..).step_by(16) {
                    let sent = client
                        .get(&url)
                        .bearer_auth(&tokens[i % tokens.len()])
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    while served.load(std::sync::atomic::Ordering::Relaxed) < 2_000 {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The second half is used once, right before the signal: its last use is still pending.
    runtime.block_on(async {
        for token in &tokens[20..] {
            let r = client.get(&url).bearer_auth(token).send().await.unwrap();
            assert!(r.status().is_success());
        }
    });
    sigterm(&mut server);
    for task in load {
        runtime.block_on(task).unwrap();
    }

    let restarted = support::start(dir.path(), &db.url, &envs);
    let (_, listed) = http(&restarted, "GET", "/api/pat/v1/tokens", Some(&admin), None).unwrap();
    let never_used: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"].as_str().is_some_and(|n| n.starts_with('t')))
        .filter(|e| !e["lastUsedAt"].is_string())
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(listed.as_array().unwrap().len(), 41, "{listed}");
    assert!(
        never_used.is_empty(),
        "lastUsedAt lost on SIGTERM: {never_used:?}"
    );
}

/// Found by the second review of #17: `tessera admin token create` without the server's secret
/// printed a PAT the server refused. Without a secret it is refused, naming what is missing;
/// with another secret too; with the server's, the PAT works.
#[test]
fn operator_commands_refuse_to_run_without_the_servers_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let secret = [("TESSERA_SERVER_SECRET", support::SECRET)];
    let server = support::start(dir.path(), &db, &secret);
    let create = ["admin", "token", "create", "--username", "admin", "--name"];
    let without = support::cli(&db, &[], &[&create[..], &["ops"]].concat());
    assert!(
        !without.status.success(),
        "a PAT without the server's secret"
    );
    let said = String::from_utf8_lossy(&without.stderr);
    assert!(
        said.contains("TESSERA_SERVER_SECRET") && said.contains("server_secret_file"),
        "{said}"
    );
    assert!(without.stdout.is_empty(), "no token printed");

    let other = [(
        "TESSERA_SERVER_SECRET",
        "another-secret-of-at-least-32-characters!",
    )];
    let wrong = support::cli(&db, &other, &[&create[..], &["ops2"]].concat());
    assert!(!wrong.status.success(), "a PAT with another secret");
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("does not match"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    let token = support::operator_token(&db, &secret, "admin", "ops3");
    let (status, _) = http(&server, "GET", "/v4/users/self", Some(&token), None).unwrap();
    assert_eq!(status, 200);
}

/// A provider that cannot be reached is logged once where it fails, not as an error line per
/// request: its failed discovery is remembered, and repeated sign-in starts (anyone's, a flood
/// included) must not flood the operator's log (found by the sixth review of #17).
#[test]
fn a_failing_identity_provider_is_logged_once_not_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let closed = support::free_port();
    let config = dir.path().join("tessera.toml");
    std::fs::write(
        &config,
        format!(
            "[sso]\n[[sso.providers]]\nname = \"down\"\nissuer = \"http://127.0.0.1:{closed}\"\n\
             client_id = \"tessera\"\nclient_secret = \"x\"\n\n\
             [[gateway.routes]]\nprefix = \"/api/jobs/\"\nupstream = \"http://127.0.0.1:{closed}\"\n"
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let server = support::start(
        dir.path(),
        &database(dir.path()),
        &[
            ("TESSERA_ADMIN_PASSWORD", PASSWORD),
            ("TESSERA_CONFIG", config.as_str()),
        ],
    );
    for _ in 0..5 {
        let (status, _) = http(&server, "GET", "/ui/sso/down/login", None, None).unwrap();
        assert_eq!(status, 502);
    }
    // The other side: a gateway route to the same closed port is a server error per request,
    // logged as one (an operator wants each failed forward, as nginx logs each).
    let admin = support::operator_token(&database(dir.path()), &[], "admin", "ops");
    let (status, _) = http(&server, "GET", "/api/jobs/v1/jobs", Some(&admin), None).unwrap();
    assert_eq!(status, 502);
    drop(server);
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    let unreachable = log.matches("identity provider unreachable").count();
    assert_eq!(unreachable, 1, "{log}");
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("/ui/sso/down/login"))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains("/api/jobs/v1/jobs")),
        "{log}"
    );
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("DEBUG") && l.contains("its cause is logged"))
            .count(),
        5,
        "{log}"
    );
}
