//! Running the real `tessera` binary in tests: servers on free ports, CLI calls, blocking HTTP,
//! and a fresh PostgreSQL database per test.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_tessera");
pub const PASSWORD: &str = "a-long-enough-admin-password";
pub const SECRET: &str = "a-server-secret-shared-by-every-node-0123";

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/data/tessera.db", dir.display())
}

/// Starts `tessera serve` on a free port against `database`, logging into `dir`, and waits until
/// /readyz answers.
pub fn start(dir: &Path, database: &str, envs: &[(&str, &str)]) -> Server {
    start_with(dir, database, envs, None)
}

/// `start`, with the process's open-file limit (soft and hard) set to `open_files` when given.
pub fn start_with(
    dir: &Path,
    database: &str,
    envs: &[(&str, &str)],
    open_files: Option<u32>,
) -> Server {
    let port = free_port();
    let log = |name: &str| {
        std::fs::File::options()
            .create(true)
            .append(true)
            .open(dir.join(name))
            .unwrap()
    };
    let mut command = match open_files {
        None => Command::new(BIN),
        Some(limit) => {
            let mut sh = Command::new("sh");
            sh.args([
                "-c",
                &format!("ulimit -n {limit} && exec \"$0\" \"$@\""),
                BIN,
            ]);
            sh
        }
    };
    command
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database",
            database,
        ])
        .current_dir(dir)
        .env_remove("TESSERA_ADMIN_PASSWORD")
        .env_remove("TESSERA_SERVER_SECRET")
        .stdout(log("stdout.log"));
    // TEST_LOG: the server's log goes to the test's terminal, at the level asked for.
    match tessera_testkit::child_log_filter() {
        Some(filter) => command.env("TESSERA_LOG", filter).stderr(Stdio::inherit()),
        None => command
            .env("TESSERA_LOG", "debug")
            .stderr(log("stderr.log")),
    };
    for (k, v) in envs {
        command.env(k, v);
    }
    let child = command.spawn().expect("spawn tessera serve");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if http(&server, "GET", "/readyz", None, None).is_ok_and(|r| r.0 == 200) {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "server did not become ready; stderr: {}",
        std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
    );
}

/// A blocking HTTP call through a small runtime: (status, JSON body).
pub fn http(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<(u16, Value), reqwest::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut request = client
            .request(method.parse().unwrap(), format!("{}{path}", server.base))
            .timeout(Duration::from_secs(10));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    })
}

pub fn cli(database: &str, envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .args(["--database", database])
        .env_remove("TESSERA_ADMIN_PASSWORD")
        .env_remove("TESSERA_SERVER_SECRET");
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("run tessera")
}

/// A PAT of `user` named `name`, made the operator's way (`tessera admin token create`) on
/// `database`; the secret.
pub fn operator_token(database: &str, envs: &[(&str, &str)], user: &str, name: &str) -> String {
    stdout_line(&cli(
        database,
        envs,
        &[
            "admin",
            "token",
            "create",
            "--username",
            user,
            "--name",
            name,
        ],
    ))
}

pub fn stdout_line(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one line on stdout, got {text:?}"
    );
    lines[0].to_string()
}

// Not every test binary uses both.
#[allow(unused_imports)]
pub use tessera_testkit::{PgDatabase, admin_sql};

// Clusters of nodes on one PostgreSQL database.

/// What every node of a cluster shares: the server secret and, as behind one load balancer,
/// the public URL (so that a JWT issued by one node is verified by the others).
pub const ENVS: &[(&str, &str)] = &[
    ("TESSERA_ADMIN_PASSWORD", PASSWORD),
    ("TESSERA_SERVER_SECRET", SECRET),
    ("TESSERA_PUBLIC_URL", "http://tessera.cluster.test"),
];

pub struct Cluster {
    pub nodes: Vec<Server>,
    pub admin: String,
    pub db: PgDatabase,
    _dirs: Vec<tempfile::TempDir>,
}

pub fn cluster(n: usize) -> Cluster {
    let db = PgDatabase::create();
    let mut dirs = Vec::new();
    let mut nodes = Vec::new();
    for _ in 0..n {
        let dir = tempfile::tempdir().unwrap();
        nodes.push(start(dir.path(), &db.url, ENVS));
        dirs.push(dir);
    }
    let admin = operator_token(&db.url, ENVS, "admin", "ops");
    Cluster {
        nodes,
        admin,
        db,
        _dirs: dirs,
    }
}

/// Polls `node` until `token` is refused; returns how long that took.
pub fn refused_within(node: &Server, token: &str, bound: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (status, _) = http(node, "GET", "/v4/users/self", Some(token), None).unwrap();
        if status == 401 {
            return start.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            start.elapsed() < bound,
            "{} still accepted a revoked token after {bound:?}",
            node.base
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A server on SQLite in `dir` with a user `jane`; returns the server, its database URL and a
/// PAT of jane's made by the operator command.
pub fn server_with_jane(dir: &Path) -> (Server, String, String) {
    let database = sqlite_url(dir);
    let envs = [("TESSERA_ADMIN_PASSWORD", PASSWORD)];
    let server = start(dir, &database, &envs);
    let token = |user: &str, name: &str| operator_token(&database, &envs, user, name);
    let admin = token("admin", "ops");
    let (status, body) = http(
        &server,
        "POST",
        "/api/admin/v1/users",
        Some(&admin),
        Some(serde_json::json!({ "userName": "jane", "email": "jane@example.com" })),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let jane = token("jane", "bootstrap");
    (server, database, jane)
}

/// RFC 8693 token exchange of `subject` at `server`; the access token.
pub fn exchange(server: &Server, subject: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let reply: Value = reqwest::Client::new()
            .post(format!(
                "{}/auth/realms/DominoRealm/protocol/openid-connect/token",
                server.base
            ))
            .form(&[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", subject),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token in {reply}"))
            .to_string()
    })
}

// Python tools (e2e/python/requirements.txt).

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// The Python of `target/pyvenv`, with the pinned packages installed; made here when `.ci/run`
/// has not made it.
pub fn python() -> PathBuf {
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let root = workspace();
    let venv = root.join("target/pyvenv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import domino, schemathesis, openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap_or_else(|e| panic!("python3 cannot start ({e}); install Python 3"));
        assert!(made.success(), "python3 -m venv failed");
        let installed = Command::new(&python)
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(root.join("e2e/python/requirements.txt"))
            .status()
            .unwrap();
        assert!(installed.success(), "pip install failed");
    }
    python
}
