//! Service accounts and their named tokens: admin only; deactivation kills every token.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, TestApp, spawn_app};

const BASE: &str = "/api/serviceAccounts/v1/serviceAccounts";

async fn service_account(app: &TestApp, name: &str) -> String {
    let created = app
        .admin_post(
            BASE,
            json!({ "username": name, "description": "ci pipeline" }),
        )
        .await;
    created.assert_status(201);
    created.body["id"].as_str().unwrap().to_string()
}

async fn sa_token(app: &TestApp, id: &str, name: &str) -> Value {
    let reply = app
        .admin_post(&format!("{BASE}/{id}/tokens"), json!({ "name": name }))
        .await;
    reply.assert_status(201);
    reply.body
}

#[tokio::test]
async fn an_admin_creates_a_service_account_whose_token_authenticates_as_it() {
    let app = spawn_app().await;
    let id = service_account(&app, "pipeline").await;
    let account = app.admin_get(&format!("{BASE}/{id}")).await;
    assert_eq!(
        account.body["roles"],
        json!(["SysAdmin", "Practitioner"]),
        "roles copied from the creating admin"
    );
    assert_eq!(account.body["isActive"], true);
    let listed = app.admin_get(BASE).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1));

    let token = sa_token(&app, &id, "deploy").await;
    for field in [
        "name",
        "serviceAccountIdpId",
        "token",
        "isValid",
        "createdAt",
        "expiresAt",
    ] {
        assert!(token.get(field).is_some(), "{field} missing in {token}");
    }
    let secret = token["token"].as_str().unwrap();
    assert!(secret.starts_with("tsat_"));
    assert_eq!(token["serviceAccountIdpId"], id.as_str());
    let created =
        chrono::DateTime::parse_from_rfc3339(token["createdAt"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(token["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(
        (expires - created).num_days(),
        120,
        "default lifetime four months"
    );

    let me = app.get("/v4/users/self", secret).await;
    me.assert_status(200);
    assert_eq!(me.body["userName"], "pipeline");
    // Service accounts are not users of the directory.
    assert!(
        !app.admin_get("/v4/users")
            .await
            .body
            .to_string()
            .contains("pipeline")
    );

    let tokens = app.admin_get(&format!("{BASE}/{id}/tokens")).await;
    assert!(
        tokens
            .body
            .as_array()
            .is_some_and(|t| t.len() == 1 && t[0].get("token").is_none())
    );
    let one = app.admin_get(&format!("{BASE}/{id}/tokens/deploy")).await;
    one.assert_status(200);
    assert_eq!(one.body["isValid"], true);
    app.admin_get(&format!("{BASE}/{id}/tokens/missing"))
        .await
        .assert_status(404);
}

#[tokio::test]
async fn token_names_are_unique_per_account_and_invalidation_is_immediate() {
    let app = spawn_app().await;
    let id = service_account(&app, "pipeline").await;
    let token = sa_token(&app, &id, "deploy").await;
    let secret = token["token"].as_str().unwrap();
    app.assert_whoami(Auth::Bearer(secret), 200).await;
    app.admin_post(&format!("{BASE}/{id}/tokens"), json!({ "name": "DEPLOY" }))
        .await
        .assert_status(409);
    app.admin_post(
        &format!("{BASE}/{id}/tokens"),
        json!({ "name": "x", "expiresIn": 400 * 86400 }),
    )
    .await
    .assert_status(400);

    let invalidated = app
        .admin_post_empty(&format!("{BASE}/{id}/tokens/deploy/invalidate"))
        .await;
    invalidated.assert_status(200);
    assert_eq!(invalidated.body["isValid"], false);
    app.assert_whoami(Auth::Bearer(secret), 401).await;
}

#[tokio::test]
async fn deactivating_a_service_account_kills_every_token_and_blocks_new_ones() {
    let app = spawn_app().await;
    let id = service_account(&app, "pipeline").await;
    let a = sa_token(&app, &id, "a").await;
    let b = sa_token(&app, &id, "b").await;
    app.assert_whoami(Auth::Bearer(a["token"].as_str().unwrap()), 200)
        .await;

    let off = app
        .admin_post_empty(&format!("{BASE}/{id}/deactivate"))
        .await;
    off.assert_status(200);
    assert_eq!(off.body["isActive"], false);
    app.assert_whoami(Auth::Bearer(a["token"].as_str().unwrap()), 401)
        .await;
    app.assert_whoami(Auth::Bearer(b["token"].as_str().unwrap()), 401)
        .await;
    app.admin_post(&format!("{BASE}/{id}/tokens"), json!({ "name": "c" }))
        .await
        .assert_status(409);

    app.admin_post_empty(&format!("{BASE}/{id}/activate"))
        .await
        .assert_status(200);
    app.assert_whoami(Auth::Bearer(a["token"].as_str().unwrap()), 401)
        .await;
    let c = sa_token(&app, &id, "c").await;
    app.assert_whoami(Auth::Bearer(c["token"].as_str().unwrap()), 200)
        .await;
}

#[tokio::test]
async fn service_account_tokens_cannot_hold_pats_or_api_keys() {
    let app = spawn_app().await;
    let id = service_account(&app, "pipeline").await;
    let secret = sa_token(&app, &id, "deploy").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        "/api/pat/v1/tokens",
        &secret,
        json!({ "name": "x", "expiresIn": 60 }),
    )
    .await
    .assert_status(403)
    .assert_envelope();
    app.post_empty("/api/apiKey/v1/regenerate", &secret)
        .await
        .assert_status(403);
}

#[tokio::test]
async fn only_administrators_manage_service_accounts() {
    let app = spawn_app().await;
    let id = service_account(&app, "pipeline").await;
    let (_, jane) = app.user_with_token("jane", &["Practitioner"]).await;
    for (method, path, body) in [
        (Method::GET, BASE.to_string(), None),
        (
            Method::POST,
            BASE.to_string(),
            Some(json!({ "username": "sneaky" })),
        ),
        (Method::GET, format!("{BASE}/{id}"), None),
        (
            Method::POST,
            format!("{BASE}/{id}/tokens"),
            Some(json!({ "name": "x" })),
        ),
        (Method::GET, format!("{BASE}/{id}/tokens"), None),
        (
            Method::POST,
            format!("{BASE}/{id}/tokens/x/invalidate"),
            None,
        ),
        (Method::POST, format!("{BASE}/{id}/deactivate"), None),
    ] {
        app.send(method, &path, Auth::Bearer(&jane), body)
            .await
            .assert_status(403);
    }
    app.admin_get(&format!("{BASE}/00000000-0000-0000-0000-000000000000"))
        .await
        .assert_status(404);
    // A user id is not a service-account id.
    let user = app.create_user("bob", &[]).await;
    app.admin_get(&format!("{BASE}/{user}"))
        .await
        .assert_status(404);
}

/// Review report: "a service account created with no roles came back with SysAdmin and
/// Practitioner". SPEC section 1: a service account's roles are copied from the creating
/// administrator; a `roles` field is not Domino's, so it is ignored like any unknown field.
#[tokio::test]
async fn a_service_account_gets_exactly_its_creators_roles_whatever_the_body_says() {
    let app = spawn_app().await;
    let (_, root) = app.user_with_token("root", &["SysAdmin"]).await;
    for (creator, name, expected) in [
        (
            app.admin_token.as_str(),
            "from-admin",
            json!(["SysAdmin", "Practitioner"]),
        ),
        (root.as_str(), "from-root", json!(["SysAdmin"])),
    ] {
        let created = app
            .post(BASE, creator, json!({ "username": name, "roles": [] }))
            .await;
        created.assert_status(201);
        assert_eq!(created.body["roles"], expected, "{name}: {:?}", created);
        let id = created.body["id"].as_str().unwrap();
        let read = app.admin_get(&format!("{BASE}/{id}")).await;
        assert_eq!(read.body["roles"], expected, "{name}: as stored");
    }
    // The other side: no administrator, no service account, whatever roles it asks for.
    let (_, jane) = app.user_with_token("jane", &["Practitioner"]).await;
    app.post(
        BASE,
        &jane,
        json!({ "username": "sneaky", "roles": ["SysAdmin"] }),
    )
    .await
    .assert_status(403);
}
