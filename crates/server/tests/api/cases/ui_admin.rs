//! The web UI's administration pages over HTTP: refused to everyone but SysAdmins (and not
//! offered to them), users created and changed (a role change revoking PATs, deactivation
//! ending sessions), every user's tokens filtered and bulk-revoked, service accounts and their
//! tokens, the audit log and its filters.

use reqwest::Method;
use serde_json::json;

use crate::cases::ui::{Browser, hidden_value, link, user_with_password};
use crate::helpers::{Auth, spawn_app};

#[tokio::test]
async fn administration_is_neither_offered_nor_allowed_to_other_users() {
    let app = spawn_app().await;
    user_with_password(&app, "jane", "jane-password-123").await;
    let mut jane = Browser::new(&app);
    jane.login("jane", "jane-password-123").await;
    let csrf = jane.csrf().await;
    let account = jane.get("/ui/account").await;
    assert!(
        !account.html.contains("/ui/admin/"),
        "admin links shown to a non-admin"
    );
    for path in [
        "/ui/admin/users",
        "/ui/admin/tokens",
        "/ui/admin/audit",
        "/ui/admin/service-accounts",
    ] {
        assert_eq!(jane.get(path).await.status, 403, "{path}");
    }
    let refused = jane
        .post(
            "/ui/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "mallory"),
                ("email", "m@example.com"),
                ("roles", "SysAdmin"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    let users = app.admin_get("/api/admin/v1/users").await;
    assert!(!users.body.to_string().contains("mallory"));

    let mut admin = Browser::admin(&app).await;
    let page = admin.get("/ui/account").await;
    assert!(page.html.contains("/ui/admin/users"));
    for path in [
        "/ui/admin/users",
        "/ui/admin/tokens",
        "/ui/admin/audit",
        "/ui/admin/service-accounts",
    ] {
        assert_eq!(admin.get(path).await.status, 200, "{path}");
    }
}

#[tokio::test]
async fn users_are_created_and_a_role_change_from_the_page_revokes_their_tokens() {
    let app = spawn_app().await;
    let mut admin = Browser::admin(&app).await;
    let csrf = admin.csrf().await;

    let bad = admin
        .post(
            "/ui/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "bob"),
                ("email", "not-an-email"),
                ("roles", "Practitioner"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.html.contains("id=\"new-email-error\""), "{}", bad.html);
    assert!(bad.html.contains("value=\"bob\""));

    let made = admin
        .post(
            "/ui/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "bob"),
                ("email", "bob@example.com"),
                ("roles", "Practitioner"),
                ("roles", "Librarian"),
                ("password", "bob-password-123"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.html);
    let page = admin.get(made.location.as_deref().unwrap()).await;
    assert!(page.html.contains("User created."));
    assert!(page.html.contains("data-user=\"bob\""));

    let users = app.admin_get("/api/admin/v1/users?search=bob").await;
    let bob = users.body.as_array().unwrap()[0].clone();
    let id = bob["id"].as_str().unwrap().to_string();
    assert!(bob.to_string().contains("Librarian"), "{bob}");
    assert!(page.html.contains("Changing roles revokes all of bob"));

    // Bob logs in with the password set on the page, and has a token.
    let mut bob_browser = Browser::new(&app);
    assert_eq!(
        bob_browser.login("bob", "bob-password-123").await.status,
        303
    );
    let bob_token = crate::helpers::operator_token(&app.state, "bob", "laptop").await;
    app.assert_whoami(Auth::Bearer(&bob_token), 200).await;

    let changed = admin
        .post(
            &format!("/ui/admin/users/{id}/roles"),
            &[("csrf", &csrf), ("roles", "Practitioner")],
        )
        .await;
    assert_eq!(changed.status, 303);
    let page = admin.get(changed.location.as_deref().unwrap()).await;
    assert!(page.html.contains("personal access tokens are revoked"));
    app.assert_whoami(Auth::Bearer(&bob_token), 401).await;

    let off = admin
        .post(
            &format!("/ui/admin/users/{id}/deactivate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(off.status, 303);
    assert_eq!(
        bob_browser.get("/ui/account").await.status,
        303,
        "the session outlived deactivation"
    );
    let page = admin.get("/ui/admin/users?search=bob").await;
    assert!(page.html.contains("Deactivated"));
}

#[tokio::test]
async fn every_users_tokens_are_filtered_and_the_selected_ones_revoked_in_bulk() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, joe) = app.user_with_token("joe", &[]).await;
    let janes = app.create_pat(&jane, "jane-ci", 3600).await;
    let joes = app.create_pat(&joe, "joe-ci", 3600).await;
    let mut admin = Browser::admin(&app).await;
    let csrf = admin.csrf().await;

    let found = admin.get("/ui/admin/tokens?search=jane").await;
    assert!(found.html.contains("data-token=\"jane/jane-ci\""));
    assert!(!found.html.contains("joe-ci"));
    assert_eq!(
        admin.get("/ui/admin/tokens?status=sideways").await.status,
        400
    );

    let none = admin
        .post(
            "/ui/admin/tokens/bulk",
            &[("csrf", &csrf), ("action", "revoke")],
        )
        .await;
    assert_eq!(none.status, 400);
    let done = admin
        .post(
            "/ui/admin/tokens/bulk",
            &[
                ("csrf", &csrf),
                ("action", "revoke"),
                ("ids", janes["patId"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    let revoked = admin.get("/ui/admin/tokens?status=revoked").await;
    assert!(revoked.html.contains("jane-ci") && !revoked.html.contains("joe-ci"));
    app.send(
        Method::GET,
        "/v4/users/self",
        Auth::Bearer(janes["token"].as_str().unwrap()),
        None,
    )
    .await
    .assert_status(401);
    app.send(
        Method::GET,
        "/v4/users/self",
        Auth::Bearer(joes["token"].as_str().unwrap()),
        None,
    )
    .await
    .assert_status(200);
}

#[tokio::test]
async fn service_accounts_get_tokens_shown_once_and_revoked_from_the_page() {
    let app = spawn_app().await;
    let mut admin = Browser::admin(&app).await;
    let csrf = admin.csrf().await;
    let made = admin
        .post(
            "/ui/admin/service-accounts",
            &[
                ("csrf", &csrf),
                ("username", "pipeline"),
                ("description", "nightly"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.html);
    let accounts = app
        .admin_get("/api/serviceAccounts/v1/serviceAccounts")
        .await;
    let id = accounts.body.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token_page = admin
        .post(
            &format!("/ui/admin/service-accounts/{id}/tokens"),
            &[("csrf", &csrf), ("name", "nightly-run")],
        )
        .await;
    assert_eq!(token_page.status, 201, "{}", token_page.html);
    let token = hidden_value(&token_page.html, "new-token");
    assert!(token.starts_with("tsat_"));
    app.assert_whoami(Auth::Bearer(&token), 200).await;
    assert!(
        !admin
            .get("/ui/admin/service-accounts")
            .await
            .html
            .contains(&token)
    );
    let revoked = admin
        .post(
            &format!("/ui/admin/service-accounts/{id}/tokens/nightly-run/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303);
    app.assert_whoami(Auth::Bearer(&token), 401).await;
    let taken = admin
        .post(
            "/ui/admin/service-accounts",
            &[("csrf", &csrf), ("username", "pipeline")],
        )
        .await;
    assert_eq!(taken.status, 400);
}

#[tokio::test]
async fn the_audit_log_is_filtered_and_bad_times_are_named() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let pat = app.create_pat(&jane, "to-revoke", 3600).await;
    app.revoke_pat(&jane, &pat).await;
    let mut admin = Browser::admin(&app).await;
    let page = admin.get("/ui/admin/audit?action=pat.revoked").await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("pat.revoked") && !page.html.contains("pat.created"),
        "{}",
        page.html
    );
    let bad = admin.get("/ui/admin/audit?from=yesterday").await;
    assert_eq!(bad.status, 400);
    assert!(bad.html.contains("id=\"from-error\""));
    assert!(bad.html.contains("value=\"yesterday\""));
    let _ = json!({});
}

#[tokio::test]
async fn admin_lists_page_through_everything_with_how_many_there_are() {
    let app = spawn_app().await;
    for i in 0..55 {
        app.create_user(&format!("user-{i:02}"), &[]).await;
    }
    let mut admin = Browser::admin(&app).await;
    let first = admin.get("/ui/admin/users").await;
    assert!(first.html.contains("1–50 of 56 users"), "{}", first.html);
    assert!(link(&first.html, "prev").is_none());
    let next = link(&first.html, "next").expect("a next link");
    let second = admin.get(&next).await;
    assert_eq!(second.status, 200);
    assert!(second.html.contains("51–56 of 56 users"), "{}", second.html);
    assert!(second.html.contains("data-user=\"user-54\""));
    assert!(!second.html.contains("data-user=\"user-00\""));
    assert!(link(&second.html, "next").is_none());
    let back = admin
        .get(&link(&second.html, "prev").expect("a previous link"))
        .await;
    assert!(back.html.contains("1–50 of 56 users") && back.html.contains("data-user=\"user-00\""));

    let audit = admin.get("/ui/admin/audit?action=user.created").await;
    assert!(audit.html.contains("1–50 of 56 entries"), "{}", audit.html);
    let older = admin.get(&link(&audit.html, "next").expect("next")).await;
    assert!(older.html.contains("51–56 of 56 entries"));
    let bad = admin.get("/ui/admin/audit?cursor=nonsense").await;
    assert_eq!(bad.status, 400);
    assert!(bad.html.contains("cursor"));
}

#[tokio::test]
async fn a_bulk_action_on_every_match_needs_the_count_confirmed() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    for i in 0..3 {
        app.create_pat(&jane, &format!("ci-bot-{i}"), 30 * 86400)
            .await;
    }
    let keep = app.create_pat(&jane, "laptop", 30 * 86400).await;
    let mut admin = Browser::admin(&app).await;
    let csrf = admin.csrf().await;
    let page = admin.get("/ui/admin/tokens?search=ci-bot").await;
    assert!(page.html.contains("Revoke all 3 matching"), "{}", page.html);
    assert!(
        !admin
            .get("/ui/admin/tokens")
            .await
            .html
            .contains("matching</button>")
    );

    // Another token matches since the page was shown: the confirmed count is stale.
    app.create_pat(&jane, "ci-bot-3", 30 * 86400).await;
    let stale = admin
        .post(
            "/ui/admin/tokens/bulk",
            &[
                ("csrf", &csrf),
                ("scope", "all"),
                ("search", "ci-bot"),
                ("status", ""),
                ("confirm_count", "3"),
                ("action", "revoke"),
            ],
        )
        .await;
    assert_eq!(stale.status, 400);
    assert!(stale.html.contains("now selects 4"), "{}", stale.html);
    let done = admin
        .post(
            "/ui/admin/tokens/bulk",
            &[
                ("csrf", &csrf),
                ("scope", "all"),
                ("search", "ci-bot"),
                ("status", ""),
                ("confirm_count", "4"),
                ("action", "revoke"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    let revoked = app
        .admin_get("/api/pat/v1/admin/tokens?status=Revoked")
        .await;
    assert_eq!(revoked.header("x-total-count"), Some("4"));
    app.send(
        Method::GET,
        "/v4/users/self",
        Auth::Bearer(keep["token"].as_str().unwrap()),
        None,
    )
    .await
    .assert_status(200);
}
