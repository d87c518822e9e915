//! A user's own personal access tokens, through the Domino paths.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Auth, eventually, spawn_app};

#[tokio::test]
async fn a_created_pat_is_shown_once_and_authenticates() {
    let app = spawn_app().await;
    let (user_id, bootstrap) = app.user_with_token("jane", &["Practitioner"]).await;

    let created = app
        .post(
            "/api/pat/v1/tokens",
            &bootstrap,
            json!({ "name": "  My-Script ", "description": "nightly", "expiresIn": 86400 * 30 }),
        )
        .await;
    created.assert_status(201);
    let token = created.body["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("tpat_"));
    assert_eq!(created.body["name"], "my-script");
    assert_eq!(created.body["userId"], user_id.as_str());
    assert_eq!(created.body["status"], "Active");
    assert_eq!(created.body["isValid"], true);

    let me = app.get("/v4/users/self", &token).await;
    me.assert_status(200);
    assert_eq!(me.body["userName"], "jane");

    let listed = app.get("/api/pat/v1/tokens", &token).await;
    listed.assert_status(200);
    let entries = listed.body.as_array().expect("bare array");
    assert_eq!(entries.len(), 2);
    for entry in entries {
        assert!(
            entry.get("token").is_none(),
            "a listed token shows its secret: {entry}"
        );
        for field in [
            "patId",
            "userId",
            "name",
            "description",
            "createdAt",
            "expiresAt",
            "isValid",
            "status",
            "lastUsedAt",
            "revokedAt",
        ] {
            assert!(entry.get(field).is_some(), "{field} missing in {entry}");
        }
    }
}

#[tokio::test]
async fn names_are_checked_lowercased_and_unique_per_user() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, john) = app.user_with_token("john", &[]).await;

    app.create_pat(&jane, "ci", 3600).await;
    let duplicate = app
        .post(
            "/api/pat/v1/tokens",
            &jane,
            json!({ "name": "CI", "expiresIn": 3600 }),
        )
        .await;
    duplicate.assert_status(409).assert_envelope();
    assert!(duplicate.error().contains("ci"), "{duplicate:?}");

    // Another user may use the same name.
    app.create_pat(&john, "ci", 3600).await;

    for (name, rule) in [
        ("", "empty"),
        ("has space", "may only contain"),
        ("under_score", "may only contain"),
        (&"x".repeat(65)[..], "at most 64"),
    ] {
        let reply = app
            .post(
                "/api/pat/v1/tokens",
                &jane,
                json!({ "name": name, "expiresIn": 3600 }),
            )
            .await;
        reply.assert_status(400).assert_envelope();
        assert!(
            reply.error().starts_with("name:") && reply.error().contains(rule),
            "{name:?}: {reply:?}"
        );
    }
}

#[tokio::test]
async fn expires_in_is_bounded_by_the_policy() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("jane", &[]).await;

    let policy = app
        .get("/api/pat/v1/tokens/expiration-policy", &token)
        .await;
    policy.assert_status(200);
    let max = policy.body["maxExpiresIn"].as_i64().expect("max");
    assert_eq!(max, 365 * 86400);
    assert!(
        policy.body["options"]
            .as_array()
            .is_some_and(|o| o.iter().all(|s| s.as_i64() <= Some(max)))
    );

    for bad in [
        json!(0),
        json!(-5),
        json!(max + 1),
        json!(1.5),
        json!("3600"),
        json!(1e30),
    ] {
        let reply = app
            .post(
                "/api/pat/v1/tokens",
                &token,
                json!({ "name": "t", "expiresIn": bad }),
            )
            .await;
        reply.assert_status(400).assert_envelope();
        assert!(reply.error().contains("expiresIn"), "{bad}: {reply:?}");
    }
    app.create_pat(&token, "longest", max).await;
    app.create_pat(&token, "shortest", 1).await;

    let defaulted = app
        .post("/api/pat/v1/tokens", &token, json!({ "name": "default" }))
        .await;
    defaulted.assert_status(201);
    assert!(defaulted.body["expiresAt"].is_string());
}

#[tokio::test]
async fn every_status_is_derived_at_read_time() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("jane", &[]).await;
    let active = app.create_pat(&token, "active", 30 * 86400).await;
    app.create_pat(&token, "soon", 3 * 86400).await;
    app.create_pat(&token, "brief", 1).await;
    let revoked = app.create_pat(&token, "revoked", 30 * 86400).await;
    app.revoke_pat(&token, &revoked).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let listed = app.get("/api/pat/v1/tokens", &token).await;
    let status_of = |name: &str| {
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| (e["status"].clone(), e["isValid"].clone()))
    };
    assert_eq!(status_of("active"), Some((json!("Active"), json!(true))));
    assert_eq!(
        status_of("soon"),
        Some((json!("ExpiringSoon"), json!(true)))
    );
    assert_eq!(status_of("brief"), Some((json!("Expired"), json!(false))));
    assert_eq!(status_of("revoked"), Some((json!("Revoked"), json!(false))));

    let expired = app.create_pat(&token, "gone", 1).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.assert_whoami(Auth::Bearer(expired["token"].as_str().unwrap()), 401)
        .await;
    app.assert_whoami(Auth::Bearer(active["token"].as_str().unwrap()), 200)
        .await;
}

#[tokio::test]
async fn revoking_takes_effect_on_the_very_next_request_and_keeps_the_row() {
    let app = spawn_app().await;
    let (_, token) = app.user_with_token("jane", &[]).await;
    let pat = app.create_pat(&token, "script", 3600).await;
    let secret = pat["token"].as_str().unwrap();
    // Warm the cache so that the revocation must evict it.
    app.assert_whoami(Auth::Bearer(secret), 200).await;

    let revoked = app.revoke_pat(&token, &pat).await;
    revoked.assert_status(200);
    assert_eq!(revoked.body["status"], "Revoked");
    assert!(revoked.body["revokedAt"].is_string());

    let refused = app.get("/v4/users/self", secret).await;
    refused.assert_status(401).assert_envelope();
    assert!(
        refused
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );

    // The name stays taken until the token is deleted.
    app.post(
        "/api/pat/v1/tokens",
        &token,
        json!({ "name": "script", "expiresIn": 60 }),
    )
    .await
    .assert_status(409);
    app.delete(
        &format!("/api/pat/v1/tokens/{}", pat["patId"].as_str().unwrap()),
        &token,
    )
    .await
    .assert_status(204);
    app.create_pat(&token, "script", 60).await;
}

#[tokio::test]
async fn a_user_cannot_touch_another_users_tokens() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, mallory) = app.user_with_token("mallory", &[]).await;
    let pat = app.create_pat(&jane, "mine", 3600).await;
    let id = pat["patId"].as_str().unwrap();

    app.post_empty(&format!("/api/pat/v1/tokens/{id}/invalidate"), &mallory)
        .await
        .assert_status(404)
        .assert_envelope();
    app.delete(&format!("/api/pat/v1/tokens/{id}"), &mallory)
        .await
        .assert_status(404);
    app.post_empty(&format!("/api/pat/v1/tokens/{id}/rotate"), &mallory)
        .await
        .assert_status(404);
    assert!(
        !app.get("/api/pat/v1/tokens", &mallory)
            .await
            .body
            .to_string()
            .contains(id)
    );
    app.post_empty("/api/pat/v1/tokens/invalidate", &mallory)
        .await
        .assert_status(200);
    let mallory_again = crate::helpers::operator_token(&app.state, "mallory", "second").await;
    app.send(
        reqwest::Method::DELETE,
        "/api/pat/v1/tokens",
        Auth::Bearer(&mallory_again),
        None,
    )
    .await
    .assert_status(200);

    app.assert_whoami(Auth::Bearer(pat["token"].as_str().unwrap()), 200)
        .await;
    app.post_empty("/api/pat/v1/tokens/not-a-uuid/invalidate", &jane)
        .await
        .assert_status(404);
}

#[tokio::test]
async fn revoke_all_and_delete_all_cover_every_token_of_the_caller_only() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, john) = app.user_with_token("john", &[]).await;
    let a = app.create_pat(&jane, "a", 3600).await;
    app.create_pat(&jane, "b", 3600).await;

    let revoked = app.post_empty("/api/pat/v1/tokens/invalidate", &jane).await;
    revoked.assert_status(200);
    assert_eq!(revoked.body["count"], 3, "bootstrap, a and b");
    app.assert_whoami(Auth::Bearer(a["token"].as_str().unwrap()), 401)
        .await;
    app.assert_whoami(Auth::Bearer(&jane), 401).await;
    app.assert_whoami(Auth::Bearer(&john), 200).await;

    let john_second = app.create_pat(&john, "second", 3600).await;
    let deleted = app
        .send(
            reqwest::Method::DELETE,
            "/api/pat/v1/tokens",
            Auth::Bearer(john_second["token"].as_str().unwrap()),
            None,
        )
        .await;
    deleted.assert_status(200);
    assert_eq!(deleted.body["count"], 2);
    app.assert_whoami(Auth::Bearer(&john), 401).await;
    let left = app
        .admin_get("/api/pat/v1/admin/tokens?userName=john")
        .await;
    assert_eq!(left.body.as_array().map(Vec::len), Some(0), "{left:?}");
}

#[tokio::test]
async fn rotation_issues_a_new_secret_and_revokes_the_old_one_at_once() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let pat = app
        .post(
            "/api/pat/v1/tokens",
            &jane,
            json!({ "name": "deploy", "description": "d", "expiresIn": 7200 }),
        )
        .await
        .body;
    let old = pat["token"].as_str().unwrap();
    app.assert_whoami(Auth::Bearer(old), 200).await;

    let rotated = app
        .post_empty(
            &format!(
                "/api/pat/v1/tokens/{}/rotate",
                pat["patId"].as_str().unwrap()
            ),
            &jane,
        )
        .await;
    rotated.assert_status(201);
    let new = rotated.body["token"].as_str().unwrap();
    assert_ne!(new, old);
    assert_ne!(rotated.body["patId"], pat["patId"]);
    assert_eq!(rotated.body["name"], "deploy");
    assert_eq!(rotated.body["description"], "d");

    app.assert_whoami(Auth::Bearer(old), 401).await;
    app.assert_whoami(Auth::Bearer(new), 200).await;

    let again = app
        .post_empty(
            &format!(
                "/api/pat/v1/tokens/{}/rotate",
                pat["patId"].as_str().unwrap()
            ),
            &jane,
        )
        .await;
    again.assert_status(409).assert_envelope();
}

#[tokio::test]
async fn concurrent_creates_of_one_name_have_exactly_one_winner() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let attempts = (0..16).map(|_| {
        app.post(
            "/api/pat/v1/tokens",
            &jane,
            json!({ "name": "race", "expiresIn": 60 }),
        )
    });
    let replies = futures::future::join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    let conflicts = replies.iter().filter(|r| r.status.as_u16() == 409).count();
    assert_eq!((created, conflicts), (1, 15), "{replies:?}");
}

#[tokio::test]
async fn last_used_is_written_behind_the_request_within_five_seconds() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let pat = app.create_pat(&jane, "used", 3600).await;
    let listed_last_used = || async {
        let listed = app.get("/api/pat/v1/tokens", &jane).await;
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "used")
            .map(|e| e["lastUsedAt"].clone())
    };
    assert_eq!(listed_last_used().await, Some(serde_json::Value::Null));
    app.assert_whoami(Auth::Bearer(pat["token"].as_str().unwrap()), 200)
        .await;
    let seen = eventually(Duration::from_secs(5), || async {
        listed_last_used().await.is_some_and(|v| v.is_string())
    })
    .await;
    assert!(seen, "lastUsedAt not visible within 5 s");
}

#[tokio::test]
async fn last_used_is_flushed_on_a_clean_stop() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let pat = app.create_pat(&jane, "used", 3600).await;
    app.assert_whoami(Auth::Bearer(pat["token"].as_str().unwrap()), 200)
        .await;
    let state = app.state.clone();
    let _stopped = app.stop().await;
    let id = tessera_core::ids::CredentialId::parse(pat["patId"].as_str().unwrap()).unwrap();
    let stored = state.store.credential(id).await.unwrap().unwrap();
    assert!(
        stored.credential.last_used_at.is_some(),
        "lastUsedAt lost on shutdown"
    );
}
