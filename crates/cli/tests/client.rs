//! The client commands (`pat`, `sa`, `exchange`, `whoami`) as people and scripts run them: the
//! real `tessera` binary against a real `tessera serve`, tables and `--json`, the error path,
//! where the host and credential come from, and secrets printed only where they are created.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use serde_json::{Value, json};

mod support;

use support::{BIN, PASSWORD, PgDatabase, SECRET, Server, http, sqlite_url, stdout_line};

#[path = "client/credentials.rs"]
mod credentials;
#[path = "client/pat.rs"]
mod pat;
#[path = "client/sa.rs"]
mod sa;

/// A server with an administrator's PAT, on SQLite or on its own PostgreSQL database.
pub struct Fixture {
    pub server: Server,
    pub database: String,
    pub admin: String,
    _dir: tempfile::TempDir,
    _postgres: Option<PgDatabase>,
}

/// Shared by the server and the operator commands, which run in other directories (without
/// it, each would make its own secret file there and PostgreSQL tokens would not verify).
const SERVER_SECRET: (&str, &str) = ("TESSERA_SERVER_SECRET", SECRET);

/// Every variable a client command reads, removed so that the caller's environment cannot leak
/// into a test.
const CLIENT_ENV: [&str; 6] = [
    "DOMINO_API_HOST",
    "TESSERA_TOKEN",
    "DOMINO_TOKEN_FILE",
    "DOMINO_USER_API_KEY",
    "TESSERA_REALM",
    "TESSERA_LOG",
];

impl Fixture {
    pub fn start() -> Fixture {
        Fixture::start_on(None)
    }

    pub fn start_on(postgres: Option<PgDatabase>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let database = match &postgres {
            Some(db) => db.url.clone(),
            None => sqlite_url(dir.path()),
        };
        let server = support::start(
            dir.path(),
            &database,
            &[("TESSERA_ADMIN_PASSWORD", PASSWORD), SERVER_SECRET],
        );
        let mut fixture = Fixture {
            server,
            database,
            admin: String::new(),
            _dir: dir,
            _postgres: postgres,
        };
        fixture.admin = fixture.operator_token("admin", "ops");
        fixture
    }

    /// A PAT for `user` made by the operator command on the database.
    pub fn operator_token(&self, user: &str, name: &str) -> String {
        support::operator_token(&self.database, &[SERVER_SECRET], user, name)
    }

    /// A new Practitioner and a PAT of theirs.
    pub fn user(&self, name: &str) -> String {
        let email = format!("{name}@example.com");
        let created = support::cli(
            &self.database,
            &[SERVER_SECRET],
            &[
                "admin",
                "user",
                "create",
                "--username",
                name,
                "--email",
                &email,
            ],
        );
        stdout_line(&created);
        self.operator_token(name, "laptop")
    }

    /// A legacy API key for the owner of `token`.
    pub fn api_key(&self, token: &str) -> String {
        let (status, body) = self.api("POST", "/api/apiKey/v1/regenerate", token, None);
        assert_eq!(status, 201, "{body}");
        body["apiKey"].as_str().unwrap().to_string()
    }

    /// Runs a client command with `token` in TESSERA_TOKEN and the server in DOMINO_API_HOST.
    pub fn run(&self, token: &str, args: &[&str]) -> Output {
        client(
            &[
                ("DOMINO_API_HOST", &self.server.base),
                ("TESSERA_TOKEN", token),
            ],
            args,
        )
    }

    /// The API's answer, for comparing with what the CLI printed.
    pub fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        http(&self.server, method, path, Some(token), body).unwrap()
    }
}

/// Runs `tessera ARGS` with only `envs` among the client variables.
pub fn client(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args);
    for name in CLIENT_ENV {
        command.env_remove(name);
    }
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("run tessera")
}

/// Stdout of a command that must have succeeded.
pub fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Stdout of a successful command, parsed as JSON.
pub fn stdout_json(output: &Output) -> Value {
    let text = stdout(output);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Stderr of a command that must have failed with `code`, after checking stdout is empty.
pub fn failure(output: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(
        output.status.code(),
        Some(code),
        "expected exit {code}; stdout: {} stderr: {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        output.stdout.is_empty(),
        "a failed command printed on stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

/// The first message of the server's FailureEnvelope.
pub fn server_message(body: &Value) -> String {
    body["errors"][0]
        .as_str()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .to_string()
}

#[test]
fn whoami_prints_the_user_name_and_json_gives_the_users_self_document() {
    let app = Fixture::start();
    let jane = app.user("jane");
    assert_eq!(stdout(&app.run(&jane, &["whoami"])), "jane\n");
    let document = stdout_json(&app.run(&jane, &["whoami", "--json"]));
    let (status, expected) = app.api("GET", "/v4/users/self", &jane, None);
    assert_eq!(status, 200);
    assert_eq!(document, expected);
    assert_eq!(document["userName"], "jane");
}

#[test]
fn exchange_prints_a_jwt_the_api_accepts_and_json_gives_the_whole_token_response() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let jwt = stdout_line(&app.run(&jane, &["exchange"]));
    assert_eq!(jwt.split('.').count(), 3, "not a JWT: {jwt}");
    let (status, me) = app.api("GET", "/v4/users/self", &jwt, None);
    assert_eq!((status, me["userName"].as_str()), (200, Some("jane")));

    let response = stdout_json(&app.run(&jane, &["exchange", "--json"]));
    assert_eq!(response["token_type"], "Bearer");
    assert_eq!(
        response["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert!(response["expires_in"].as_u64().unwrap() > 0, "{response}");
    let minted = response["access_token"].as_str().unwrap();
    assert_eq!(app.api("GET", "/v4/users/self", minted, None).0, 200);
}

#[test]
fn exchange_refusals_show_the_realms_own_message() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let unknown = failure(&app.run(&jane, &["exchange", "--realm", "Elsewhere"]), 1);
    assert!(unknown.contains("realm not found"), "{unknown}");
    assert!(unknown.contains("404"), "{unknown}");
    let target = failure(
        &app.run(&jane, &["exchange", "--audience", "no-such-service"]),
        1,
    );
    assert!(target.contains("no-such-service"), "{target}");
    assert!(target.contains("invalid_target"), "{target}");
    let wrong = "tpat_notarealtokenatallnotarealtokenatall0";
    let refused = failure(&app.run(wrong, &["exchange"]), 1);
    assert!(refused.contains("subject_token"), "{refused}");
    assert!(
        !refused.contains(wrong),
        "the credential was echoed: {refused}"
    );
}

#[test]
fn a_refused_credential_exits_4_with_the_servers_message_and_never_the_credential() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let (_, revoked) = app.api("GET", "/api/pat/v1/tokens", &jane, None);
    let id = revoked[0]["patId"].as_str().unwrap();
    let path = format!("/api/pat/v1/tokens/{id}/invalidate");
    assert_eq!(app.api("POST", &path, &jane, None).0, 200);
    let (status, body) = app.api("GET", "/v4/users/self", &jane, None);
    assert_eq!(status, 401);
    let message = server_message(&body);
    for args in [
        &["whoami"][..],
        &["pat", "list"],
        &["pat", "create", "x"],
        &["sa", "list"],
    ] {
        let stderr = failure(&app.run(&jane, args), 4);
        assert!(stderr.contains(&message), "{args:?}: {stderr}");
        assert!(stderr.contains("401"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains(&jane),
            "{args:?} echoed the credential: {stderr}"
        );
    }
}

#[test]
fn a_practitioner_calling_sa_list_gets_the_servers_403_message() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let (status, body) = app.api(
        "GET",
        "/api/serviceAccounts/v1/serviceAccounts",
        &jane,
        None,
    );
    assert_eq!(status, 403);
    let stderr = failure(&app.run(&jane, &["sa", "list"]), 1);
    assert!(stderr.contains(&server_message(&body)), "{stderr}");
    assert!(stderr.contains("403"), "{stderr}");
    let create = failure(&app.run(&jane, &["sa", "create", "robot"]), 1);
    assert!(create.contains("403"), "{create}");
    // The administrator, for contrast, is allowed.
    stdout(&app.run(&app.admin, &["sa", "list"]));
}

#[test]
fn text_from_the_server_cannot_drive_the_terminal() {
    let app = Fixture::start();
    let jane = app.user("jane");
    // The server refuses control characters in descriptions but keeps bidirectional overrides,
    // which show text in another order than it is read.
    let tricky = "invoice\u{202e}fdp.exe";
    stdout(&app.run(&jane, &["pat", "create", "odd", "--description", tricky]));
    let table = stdout(&app.run(&jane, &["pat", "list"]));
    assert!(!table.contains('\u{202e}'), "{table:?}");
    assert!(table.contains("invoice\\u{202e}fdp.exe"), "{table}");
    let json = stdout(&app.run(&jane, &["pat", "list", "--json"]));
    assert!(!json.contains('\u{202e}'), "{json:?}");
    assert!(json.contains("invoice\\u202efdp.exe"), "{json}");
    let parsed: Value = serde_json::from_str(&json).unwrap();
    let odd = parsed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "odd")
        .unwrap();
    assert_eq!(odd["description"], json!(tricky));
}

#[test]
fn the_client_commands_work_the_same_on_postgresql() {
    let app = Fixture::start_on(Some(PgDatabase::create()));
    let jane = app.user("jane");
    assert_eq!(stdout(&app.run(&jane, &["whoami"])), "jane\n");
    let ci = stdout_line(&app.run(&jane, &["pat", "create", "ci"]));
    let rotated = stdout_line(&app.run(&jane, &["pat", "rotate", "ci"]));
    failure(&app.run(&ci, &["whoami"]), 4);
    let listed = stdout_json(&app.run(&rotated, &["pat", "list", "--json"]));
    let statuses: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == "ci")
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2, "{listed}");
    assert!(statuses.contains(&"Revoked") && statuses.contains(&"Active"));
    stdout(&app.run(&rotated, &["pat", "revoke", "laptop"]));
    failure(&app.run(&jane, &["whoami"]), 4);
    let jwt = stdout_line(&app.run(&rotated, &["exchange"]));
    assert_eq!(stdout(&app.run(&jwt, &["whoami"])), "jane\n");
    stdout(&app.run(&app.admin, &["sa", "create", "ci-bot"]));
    let bot = stdout_line(&app.run(&app.admin, &["sa", "token", "create", "ci-bot", "deploy"]));
    assert_eq!(stdout(&app.run(&bot, &["whoami"])), "ci-bot\n");
    stdout(&app.run(&app.admin, &["sa", "token", "revoke", "ci-bot", "deploy"]));
    failure(&app.run(&bot, &["whoami"]), 4);
    assert_eq!(
        stdout(&app.run(&rotated, &["pat", "delete", "--all"])),
        "Deleted 3 tokens\n"
    );
}
