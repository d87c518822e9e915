//! `tessera pat`: create, list, revoke, delete and rotate, by id or name, one or `--all`.

use serde_json::{Value, json};

use super::{Fixture, client, failure, stdout, stdout_json};
use crate::support::stdout_line;

fn tokens(app: &Fixture, token: &str) -> Vec<Value> {
    let (status, list) = app.api("GET", "/api/pat/v1/tokens", token, None);
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

fn status_of(app: &Fixture, token: &str, name: &str) -> Option<String> {
    tokens(app, token)
        .iter()
        .find(|t| t["name"] == name)
        .map(|t| t["status"].as_str().unwrap().to_string())
}

#[test]
fn pat_create_prints_only_the_secret_and_json_gives_the_creation_document() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let secret = stdout_line(&app.run(
        &jane,
        &[
            "pat",
            "create",
            "CI-Runner",
            "--description",
            "for CI",
            "--expires-in",
            "3600",
        ],
    ));
    assert!(secret.starts_with("tpat_"), "{secret}");
    assert_eq!(stdout(&app.run(&secret, &["whoami"])), "jane\n");
    let created = tokens(&app, &jane)
        .into_iter()
        .find(|t| t["name"] == "ci-runner")
        .expect("the name is stored lowercased");
    assert_eq!(created["description"], "for CI");

    let document = stdout_json(&app.run(&jane, &["pat", "create", "second", "--json"]));
    assert_eq!(document["name"], "second");
    assert!(document["token"].as_str().unwrap().starts_with("tpat_"));
    assert!(document["patId"].is_string(), "{document}");
    assert_eq!(document["status"], "Active");
}

#[test]
fn pat_create_shows_the_servers_reason_for_a_bad_name_or_lifetime() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let bad_name = failure(&app.run(&jane, &["pat", "create", "no spaces"]), 1);
    assert!(
        bad_name.contains("400") && bad_name.contains("name"),
        "{bad_name}"
    );
    let duplicate = failure(&app.run(&jane, &["pat", "create", "laptop"]), 1);
    assert!(duplicate.contains("409"), "{duplicate}");
    let too_long = failure(
        &app.run(
            &jane,
            &["pat", "create", "x", "--expires-in", "999999999999"],
        ),
        1,
    );
    assert!(too_long.contains("expiresIn"), "{too_long}");
    let not_a_number = failure(
        &app.run(&jane, &["pat", "create", "x", "--expires-in", "soon"]),
        2,
    );
    assert!(not_a_number.contains("--expires-in"), "{not_a_number}");
}

#[test]
fn pat_list_is_a_table_and_json_is_the_apis_array_and_neither_shows_a_secret() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let mut secrets = vec![jane.clone()];
    for name in ["alpha", "beta"] {
        secrets.push(stdout_line(&app.run(&jane, &["pat", "create", name])));
    }
    let table = stdout(&app.run(&jane, &["pat", "list"]));
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0]
        .split("  ")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "ID",
            "NAME",
            "STATUS",
            "EXPIRES",
            "LAST USED",
            "CREATED",
            "DESCRIPTION"
        ],
        "{table}"
    );
    assert_eq!(lines.len(), 4, "{table}");
    for token in tokens(&app, &jane) {
        let id = token["patId"].as_str().unwrap();
        let row = lines
            .iter()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} missing: {table}"));
        assert!(row.contains(token["name"].as_str().unwrap()), "{row}");
        assert!(row.contains("Active"), "{row}");
    }

    // The same documents as the API's (but for lastUsedAt, which each call may move).
    let unused = |list: Value| -> Vec<Value> {
        let mut list = list.as_array().unwrap().clone();
        for token in &mut list {
            token.as_object_mut().unwrap().remove("lastUsedAt");
        }
        list
    };
    let listed = stdout_json(&app.run(&jane, &["pat", "--json", "list"]));
    assert_eq!(unused(listed), unused(Value::Array(tokens(&app, &jane))));
    let json = stdout(&app.run(&jane, &["pat", "list", "--json"]));
    for output in [&table, &json] {
        assert!(!output.contains("tpat_"), "a secret was printed: {output}");
        for secret in &secrets {
            assert!(!output.contains(secret.as_str()));
        }
    }
}

#[test]
fn pat_list_with_no_tokens_says_so_on_stderr_and_json_prints_an_empty_array() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let key = app.api_key(&jane);
    assert_eq!(
        stdout(&app.run(&jane, &["pat", "delete", "--all"])),
        "Deleted 1 token\n"
    );
    let envs = [
        ("DOMINO_API_HOST", app.server.base.as_str()),
        ("DOMINO_USER_API_KEY", key.as_str()),
    ];
    let listed = client(&envs, &["pat", "list"]);
    assert_eq!(stdout(&listed), "");
    let said = String::from_utf8_lossy(&listed.stderr);
    assert!(said.contains("no personal access tokens"), "{said}");
    assert_eq!(
        stdout_json(&client(&envs, &["pat", "list", "--json"])),
        json!([])
    );
}

#[test]
fn pat_revoke_finds_a_token_by_id_or_by_name_in_any_case() {
    let app = Fixture::start();
    let jane = app.user("jane");
    for name in ["alpha", "beta"] {
        stdout_line(&app.run(&jane, &["pat", "create", name]));
    }
    let table = stdout(&app.run(&jane, &["pat", "revoke", "ALPHA"]));
    assert!(table.lines().nth(1).unwrap().contains("Revoked"), "{table}");
    assert_eq!(status_of(&app, &jane, "alpha").as_deref(), Some("Revoked"));
    assert_eq!(status_of(&app, &jane, "beta").as_deref(), Some("Active"));

    let beta = tokens(&app, &jane)
        .into_iter()
        .find(|t| t["name"] == "beta")
        .unwrap();
    let id = beta["patId"].as_str().unwrap();
    let revoked = stdout_json(&app.run(&jane, &["pat", "revoke", id, "--json"]));
    assert_eq!(revoked["patId"], id);
    assert_eq!(revoked["status"], "Revoked");
    assert!(revoked.get("token").is_none(), "{revoked}");
}

#[test]
fn pat_delete_removes_a_token_by_name_and_json_names_what_went() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let doomed = stdout_line(&app.run(&jane, &["pat", "create", "doomed"]));
    let said = stdout(&app.run(&jane, &["pat", "delete", "doomed"]));
    assert!(said.starts_with("Deleted token doomed ("), "{said}");
    assert_eq!(status_of(&app, &jane, "doomed"), None);
    failure(&app.run(&doomed, &["whoami"]), 4);

    stdout_line(&app.run(&jane, &["pat", "create", "second"]));
    let gone = stdout_json(&app.run(&jane, &["pat", "rm", "second", "--json"]));
    assert_eq!(gone["name"], "second");
    assert_eq!(gone["deleted"], true);
    assert!(gone["patId"].is_string(), "{gone}");
}

#[test]
fn pat_rotate_prints_a_new_secret_and_the_old_one_stops_working() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let old = stdout_line(&app.run(&jane, &["pat", "create", "ci"]));
    let new = stdout_line(&app.run(&jane, &["pat", "rotate", "ci"]));
    assert!(new.starts_with("tpat_") && new != old, "{new}");
    assert_eq!(stdout(&app.run(&new, &["whoami"])), "jane\n");
    failure(&app.run(&old, &["whoami"]), 4);

    let rotated = stdout_json(&app.run(&new, &["pat", "rotate", "ci", "--json"]));
    assert_eq!(rotated["name"], "ci");
    let newest = rotated["token"].as_str().unwrap();
    assert_eq!(stdout(&app.run(newest, &["whoami"])), "jane\n");
}

#[test]
fn pat_revoke_and_delete_all_act_on_every_token_and_refuse_an_id_beside_all() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let keep = app.user("kate");
    let mut secrets = Vec::new();
    for name in ["one", "two"] {
        secrets.push(stdout_line(&app.run(&jane, &["pat", "create", name])));
    }

    // Refused before anything is sent: nothing is revoked.
    let both = failure(&app.run(&jane, &["pat", "revoke", "--all", "one"]), 2);
    assert!(both.contains("--all"), "{both}");
    failure(&app.run(&jane, &["pat", "delete", "one", "--all"]), 2);
    let neither = failure(&app.run(&jane, &["pat", "revoke"]), 2);
    assert!(
        neither.contains("ID_OR_NAME") || neither.contains("--all"),
        "{neither}"
    );
    assert_eq!(status_of(&app, &jane, "one").as_deref(), Some("Active"));

    let revoked = stdout_json(&app.run(&secrets[0], &["pat", "revoke", "--all", "--json"]));
    assert_eq!(revoked["count"], 3);
    for token in tokens(&app, &app.admin).iter().chain(&tokens(&app, &keep)) {
        assert_eq!(
            token["status"], "Active",
            "another user's token was touched"
        );
    }
    for secret in secrets.iter().chain([&jane]) {
        failure(&app.run(secret, &["whoami"]), 4);
    }

    let fresh = app.operator_token("jane", "fresh");
    assert_eq!(
        stdout(&app.run(&fresh, &["pat", "delete", "--all"])),
        "Deleted 4 tokens\n"
    );
    assert_eq!(tokens(&app, &keep).len(), 1);
}

#[test]
fn an_unknown_or_ambiguous_name_is_an_error_and_changes_nothing() {
    let app = Fixture::start();
    let jane = app.user("jane");
    let unknown = failure(&app.run(&jane, &["pat", "revoke", "nosuch"]), 1);
    assert!(unknown.contains("\"nosuch\""), "{unknown}");
    assert!(unknown.contains("tessera pat list"), "{unknown}");
    failure(&app.run(&jane, &["pat", "rotate", "nosuch"]), 1);

    // A name may be spelled like another token's id: that word names two tokens.
    let laptop = tokens(&app, &jane)[0]["patId"]
        .as_str()
        .unwrap()
        .to_string();
    stdout_line(&app.run(&jane, &["pat", "create", &laptop]));
    for verb in ["revoke", "delete", "rotate"] {
        let ambiguous = failure(&app.run(&jane, &["pat", verb, &laptop]), 1);
        assert!(ambiguous.contains("ambiguous"), "{verb}: {ambiguous}");
    }
    let all = tokens(&app, &jane);
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|t| t["status"] == "Active"), "{all:?}");
}
