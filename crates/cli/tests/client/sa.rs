//! `tessera sa`: administrators list and create service accounts and create and revoke their
//! tokens, naming an account by username or id.

use serde_json::Value;

use super::{Fixture, failure, stdout, stdout_json};
use crate::support::stdout_line;

const ACCOUNTS: &str = "/api/serviceAccounts/v1/serviceAccounts";

#[test]
fn sa_create_and_list_show_a_table_and_json_gives_the_apis_documents() {
    let app = Fixture::start();
    let table = stdout(&app.run(
        &app.admin,
        &["sa", "create", "ci-bot", "--description", "Deploys from CI"],
    ));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("USERNAME"),
        "{table}"
    );
    assert!(
        lines[1].contains("ci-bot") && lines[1].contains("Deploys from CI"),
        "{table}"
    );

    let created = stdout_json(&app.run(&app.admin, &["sa", "create", "nightly", "--json"]));
    assert_eq!(created["username"], "nightly");
    assert_eq!(created["isActive"], true);

    let (status, expected) = app.api("GET", ACCOUNTS, &app.admin, None);
    assert_eq!(status, 200);
    let listed = stdout_json(&app.run(&app.admin, &["sa", "list", "--json"]));
    assert_eq!(listed, expected);
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let table = stdout(&app.run(&app.admin, &["sa", "ls"]));
    assert_eq!(table.lines().count(), 3, "{table}");
    for account in expected.as_array().unwrap() {
        let id = account["id"].as_str().unwrap();
        assert!(table.contains(id), "{id}: {table}");
    }
    let duplicate = failure(&app.run(&app.admin, &["sa", "create", "nightly"]), 1);
    assert!(duplicate.contains("409"), "{duplicate}");
}

#[test]
fn sa_token_create_prints_a_secret_that_authenticates_as_the_account() {
    let app = Fixture::start();
    stdout(&app.run(&app.admin, &["sa", "create", "ci-bot"]));
    let secret = stdout_line(&app.run(
        &app.admin,
        &[
            "sa",
            "token",
            "create",
            "ci-bot",
            "deploy",
            "--expires-in",
            "3600",
        ],
    ));
    assert!(secret.starts_with("tsat_"), "{secret}");
    assert_eq!(stdout(&app.run(&secret, &["whoami"])), "ci-bot\n");

    let (_, accounts) = app.api("GET", ACCOUNTS, &app.admin, None);
    let id = accounts[0]["id"].as_str().unwrap();
    let document = stdout_json(&app.run(
        &app.admin,
        &["sa", "token", "create", id, "release", "--json"],
    ));
    assert_eq!(document["name"], "release");
    assert_eq!(document["serviceAccountIdpId"], id);
    let token = document["token"].as_str().unwrap();
    assert_eq!(stdout(&app.run(token, &["whoami"])), "ci-bot\n");

    let listed = stdout(&app.run(&app.admin, &["sa", "token", "list", "ci-bot"]));
    assert!(
        listed.contains("deploy") && listed.contains("release"),
        "{listed}"
    );
    let json = stdout(&app.run(&app.admin, &["sa", "token", "list", "ci-bot", "--json"]));
    for output in [&listed, &json] {
        assert!(!output.contains("tsat_"), "a secret was printed: {output}");
    }
}

#[test]
fn sa_token_revoke_by_username_or_id_stops_the_token_at_once() {
    let app = Fixture::start();
    stdout(&app.run(&app.admin, &["sa", "create", "ci-bot"]));
    let deploy = stdout_line(&app.run(&app.admin, &["sa", "token", "create", "ci-bot", "deploy"]));
    let release =
        stdout_line(&app.run(&app.admin, &["sa", "token", "create", "ci-bot", "release"]));

    let table = stdout(&app.run(&app.admin, &["sa", "token", "revoke", "CI-BOT", "Deploy"]));
    assert!(table.lines().nth(1).unwrap().contains("Revoked"), "{table}");
    failure(&app.run(&deploy, &["whoami"]), 4);
    assert_eq!(stdout(&app.run(&release, &["whoami"])), "ci-bot\n");

    let (_, accounts) = app.api("GET", ACCOUNTS, &app.admin, None);
    let id = accounts[0]["id"].as_str().unwrap();
    let revoked = stdout_json(&app.run(
        &app.admin,
        &["sa", "token", "revoke", id, "release", "--json"],
    ));
    assert_eq!(revoked["status"], "Revoked");
    assert!(revoked.get("token").is_none(), "{revoked}");
    failure(&app.run(&release, &["whoami"]), 4);
}

#[test]
fn an_unknown_service_account_or_token_name_is_an_error_naming_it() {
    let app = Fixture::start();
    stdout(&app.run(&app.admin, &["sa", "create", "ci-bot"]));
    let account = failure(
        &app.run(&app.admin, &["sa", "token", "create", "nobody", "deploy"]),
        1,
    );
    assert!(
        account.contains("\"nobody\"") && account.contains("tessera sa list"),
        "{account}"
    );
    let token = failure(
        &app.run(&app.admin, &["sa", "token", "revoke", "ci-bot", "nosuch"]),
        1,
    );
    assert!(
        token.contains("\"nosuch\"") && token.contains("ci-bot"),
        "{token}"
    );
    // A name the URL cannot carry is refused by the client, not sent to another path.
    let dots = failure(
        &app.run(&app.admin, &["sa", "token", "revoke", "ci-bot", ".."]),
        1,
    );
    assert!(dots.contains("\"..\""), "{dots}");
    let (_, tokens) = app.api(
        "GET",
        &format!("{ACCOUNTS}/{}/tokens", account_id(&app)),
        &app.admin,
        None,
    );
    assert_eq!(tokens, Value::Array(vec![]));
}

fn account_id(app: &Fixture) -> String {
    let (_, accounts) = app.api("GET", ACCOUNTS, &app.admin, None);
    accounts[0]["id"].as_str().unwrap().to_string()
}
