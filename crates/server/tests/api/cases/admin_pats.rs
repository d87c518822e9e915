//! Every user's PATs, for administrators: search, filters, single and bulk revoke and delete.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Auth, spawn_app};

#[tokio::test]
async fn admins_list_every_users_tokens_with_search_and_filters_but_never_the_secret() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, john) = app.user_with_token("john", &[]).await;
    app.create_pat(&jane, "deploy", 30 * 86400).await;
    app.create_pat(&john, "notebook", 3 * 86400).await;
    app.create_pat(&john, "brief", 1).await;
    let revoked = app.create_pat(&jane, "old", 30 * 86400).await;
    app.revoke_pat(&jane, &revoked).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let all = app.admin_get("/api/pat/v1/admin/tokens").await;
    all.assert_status(200);
    let entries = all.body.as_array().unwrap();
    assert!(entries.len() >= 6, "{all:?}");
    assert!(
        entries
            .iter()
            .all(|e| e["userName"].is_string() && e.get("token").is_none())
    );
    assert!(!all.body.to_string().contains("tpat_"));

    let names = |path: &str| {
        let app = &app;
        let path = path.to_string();
        async move {
            let reply = app.admin_get(&path).await;
            reply.assert_status(200);
            reply.owned_names()
        }
    };
    assert_eq!(
        names("/api/pat/v1/admin/tokens?search=note").await,
        vec!["john/notebook"]
    );
    assert_eq!(
        names("/api/pat/v1/admin/tokens?search=JOHN").await,
        vec!["john/bootstrap", "john/brief", "john/notebook"]
    );
    assert_eq!(
        names("/api/pat/v1/admin/tokens?userName=jane&status=Revoked").await,
        vec!["jane/old"]
    );
    assert_eq!(
        names("/api/pat/v1/admin/tokens?status=expired").await,
        vec!["john/brief"]
    );
    assert_eq!(
        names("/api/pat/v1/admin/tokens?status=ExpiringSoon").await,
        vec!["john/notebook"]
    );
    assert!(
        names("/api/pat/v1/admin/tokens?status=Active")
            .await
            .contains(&"jane/deploy".to_string())
    );
    let bad = app
        .admin_get("/api/pat/v1/admin/tokens?status=sleepy")
        .await;
    bad.assert_status(400).assert_envelope();
    assert!(bad.error().contains("status"));
}

#[tokio::test]
async fn admins_revoke_and_delete_single_tokens_of_any_user() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let pat = app.create_pat(&jane, "deploy", 3600).await;
    let id = pat["patId"].as_str().unwrap();
    let secret = pat["token"].as_str().unwrap();
    app.assert_whoami(Auth::Bearer(secret), 200).await;

    let revoked = app
        .admin_post_empty(&format!("/api/pat/v1/admin/tokens/{id}/invalidate"))
        .await;
    revoked.assert_status(200);
    assert_eq!(
        (
            revoked.body["status"].as_str(),
            revoked.body["userName"].as_str()
        ),
        (Some("Revoked"), Some("jane"))
    );
    app.assert_whoami(Auth::Bearer(secret), 401).await;

    app.admin_delete(&format!("/api/pat/v1/admin/tokens/{id}"))
        .await
        .assert_status(204);
    app.admin_delete(&format!("/api/pat/v1/admin/tokens/{id}"))
        .await
        .assert_status(404);
    let listed = app.get("/api/pat/v1/tokens", &jane).await;
    assert!(!listed.body.to_string().contains(id));
    // The user can use the name again once the token is deleted.
    app.create_pat(&jane, "deploy", 3600).await;
}

#[tokio::test]
async fn bulk_actions_take_ids_a_user_or_a_status_and_refuse_an_empty_selection() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, john) = app.user_with_token("john", &[]).await;
    let a = app.create_pat(&jane, "a", 3600).await;
    let b = app.create_pat(&john, "b", 3600).await;
    let c = app.create_pat(&john, "c", 3600).await;

    let empty = app
        .admin_post("/api/pat/v1/admin/tokens/invalidate", json!({}))
        .await;
    empty.assert_status(400).assert_envelope();
    app.admin_post(
        "/api/pat/v1/admin/tokens/invalidate",
        json!({ "patIds": ["nope"] }),
    )
    .await
    .assert_status(400);

    let by_ids = app
        .admin_post(
            "/api/pat/v1/admin/tokens/invalidate",
            json!({ "patIds": [a["patId"], b["patId"]] }),
        )
        .await;
    by_ids.assert_status(200);
    assert_eq!(by_ids.body["count"], 2);
    app.assert_whoami(Auth::Bearer(a["token"].as_str().unwrap()), 401)
        .await;
    app.assert_whoami(Auth::Bearer(b["token"].as_str().unwrap()), 401)
        .await;
    app.assert_whoami(Auth::Bearer(c["token"].as_str().unwrap()), 200)
        .await;

    let by_user = app
        .admin_post(
            "/api/pat/v1/admin/tokens/invalidate",
            json!({ "userName": "john" }),
        )
        .await;
    assert_eq!(
        by_user.body["count"], 2,
        "john's bootstrap and c: {by_user:?}"
    );
    app.assert_whoami(Auth::Bearer(&john), 401).await;
    app.assert_whoami(Auth::Bearer(&jane), 200).await;

    let deleted = app
        .admin_post(
            "/api/pat/v1/admin/tokens/delete",
            json!({ "status": "Revoked" }),
        )
        .await;
    deleted.assert_status(200);
    assert_eq!(deleted.body["count"], 4);
    let left = app
        .admin_get("/api/pat/v1/admin/tokens?status=Revoked")
        .await;
    assert_eq!(left.body.as_array().map(Vec::len), Some(0));
    let (_, mallory) = app.user_with_token("mallory", &[]).await;
    app.post(
        "/api/pat/v1/admin/tokens/delete",
        &mallory,
        json!({ "userName": "jane" }),
    )
    .await
    .assert_status(403);
    app.assert_whoami(Auth::Bearer(&jane), 200).await;
}
