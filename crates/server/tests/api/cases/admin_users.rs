//! User administration: SysAdmin allowed, everyone else refused; role changes revoke PATs.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Auth, operator_token, spawn_app};

#[tokio::test]
async fn every_admin_endpoint_refuses_a_practitioner_and_an_anonymous_caller() {
    let app = spawn_app().await;
    let (jane_id, jane) = app.user_with_token("jane", &["Practitioner"]).await;
    let u = format!("/api/admin/v1/users/{jane_id}");
    let calls: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (
            Method::POST,
            "/api/admin/v1/users".into(),
            Some(json!({ "userName": "x", "email": "x@example.com" })),
        ),
        (Method::GET, "/api/admin/v1/users".into(), None),
        (Method::GET, u.clone(), None),
        (Method::PATCH, u.clone(), Some(json!({ "firstName": "J" }))),
        (
            Method::PUT,
            format!("{u}/roles"),
            Some(json!({ "roles": ["SysAdmin"] })),
        ),
        (Method::POST, format!("{u}/deactivate"), None),
        (Method::POST, format!("{u}/activate"), None),
        (
            Method::POST,
            format!("{u}/password"),
            Some(json!({ "password": "long enough password" })),
        ),
        (Method::GET, "/api/pat/v1/admin/tokens".into(), None),
        (Method::GET, "/api/admin/v1/audit".into(), None),
        (
            Method::GET,
            "/api/serviceAccounts/v1/serviceAccounts".into(),
            None,
        ),
        (
            Method::POST,
            "/api/organizations/v1/organizations".into(),
            Some(json!({ "name": "o" })),
        ),
        (Method::POST, "/api/admin/v1/keys/rotate".into(), None),
    ];
    for (method, path, body) in calls {
        let refused = app
            .send(method.clone(), &path, Auth::Bearer(&jane), body.clone())
            .await;
        refused.assert_status(403).assert_envelope();
        let anonymous = app
            .send(method.clone(), &path, Auth::None, body.clone())
            .await;
        anonymous.assert_status(401).assert_envelope();
        assert!(
            anonymous
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer realm=")),
            "{method} {path}"
        );
    }
    // The practitioner was not escalated by any of it.
    let principal = app.get("/v4/auth/principal", &jane).await;
    assert_eq!(principal.body["isAdmin"], false);
}

#[tokio::test]
async fn an_admin_creates_lists_reads_and_updates_users() {
    let app = spawn_app().await;
    let created = app
        .admin_post("/api/admin/v1/users", json!({ "userName": "Jane.Doe", "email": "Jane@Example.com", "firstName": "Jane", "lastName": "Doe", "roles": ["Practitioner", "Librarian"] }))
        .await;
    created.assert_status(201);
    assert_eq!(created.body["userName"], "jane.doe");
    assert_eq!(created.body["email"], "jane@example.com");
    assert_eq!(created.body["fullName"], "Jane Doe");
    assert_eq!(created.body["roles"], json!(["Practitioner", "Librarian"]));
    assert_eq!(created.body["status"], "active");
    let id = created.body["id"].as_str().unwrap();

    app.create_user("john", &[]).await;
    let found = app.admin_get("/api/admin/v1/users?search=DOE").await;
    assert_eq!(found.body.as_array().map(|a| a.len()), Some(1), "{found:?}");
    let paged = app.admin_get("/api/admin/v1/users?offset=1&limit=1").await;
    assert_eq!(paged.body.as_array().map(|a| a.len()), Some(1));

    app.admin_get(&format!("/api/admin/v1/users/{id}"))
        .await
        .assert_status(200);
    let patched = app
        .send(
            Method::PATCH,
            &format!("/api/admin/v1/users/{id}"),
            Auth::Bearer(&app.admin_token),
            Some(json!({ "lastName": "Smith" })),
        )
        .await;
    patched.assert_status(200);
    assert_eq!(patched.body["fullName"], "Jane Smith");

    app.admin_get("/api/admin/v1/users/00000000-0000-0000-0000-000000000000")
        .await
        .assert_status(404)
        .assert_envelope();
    app.admin_get("/api/admin/v1/users/not-an-id")
        .await
        .assert_status(404);
}

#[tokio::test]
async fn bad_user_input_is_refused_with_the_field_named() {
    let app = spawn_app().await;
    app.create_user("jane", &[]).await;
    let cases = [
        (
            json!({ "userName": "jane", "email": "other@example.com" }),
            409,
            "userName",
        ),
        (
            json!({ "userName": "other", "email": "jane@example.com" }),
            409,
            "email",
        ),
        (
            json!({ "userName": "bad name", "email": "b@example.com" }),
            400,
            "userName",
        ),
        (
            json!({ "userName": "ok", "email": "not-an-email" }),
            400,
            "email",
        ),
        (
            json!({ "userName": "ok", "email": "ok@example.com", "roles": ["Wizard"] }),
            400,
            "Wizard",
        ),
        (
            json!({ "userName": "ok", "email": "ok@example.com", "password": "short" }),
            400,
            "password",
        ),
        (json!({ "email": "ok@example.com" }), 400, "userName"),
    ];
    for (body, status, named) in cases {
        let reply = app.admin_post("/api/admin/v1/users", body.clone()).await;
        reply.assert_status(status).assert_envelope();
        assert!(reply.error().contains(named), "{body}: {reply:?}");
    }
}

#[tokio::test]
async fn changing_roles_revokes_every_pat_of_that_user_at_once_and_audits_it() {
    let app = spawn_app().await;
    let (jane_id, jane) = app.user_with_token("jane", &["Practitioner"]).await;
    let (_, john) = app.user_with_token("john", &["Practitioner"]).await;
    let second = app.create_pat(&jane, "second", 3600).await;
    let key = app.regenerate_api_key(&jane).await;
    app.assert_whoami(Auth::Bearer(&jane), 200).await;

    // The same set again changes nothing.
    let same = app
        .admin_put(
            &format!("/api/admin/v1/users/{jane_id}/roles"),
            json!({ "roles": ["Practitioner"] }),
        )
        .await;
    same.assert_status(200);
    assert_eq!(same.body["revokedPats"], 0);
    app.assert_whoami(Auth::Bearer(&jane), 200).await;

    let changed = app
        .admin_put(
            &format!("/api/admin/v1/users/{jane_id}/roles"),
            json!({ "roles": ["Practitioner", "Librarian"] }),
        )
        .await;
    changed.assert_status(200);
    assert_eq!(changed.body["revokedPats"], 2);
    assert_eq!(
        changed.body["user"]["roles"],
        json!(["Practitioner", "Librarian"])
    );
    app.assert_whoami(Auth::Bearer(&jane), 401).await;
    app.assert_whoami(Auth::Bearer(second["token"].as_str().unwrap()), 401)
        .await;
    app.assert_whoami(Auth::Bearer(&john), 200).await;
    // The API key is not a PAT; it keeps working, with the new roles.
    app.assert_whoami(Auth::ApiKey(&key), 200).await;

    let audit = app
        .admin_get("/api/admin/v1/audit?action=pat.revoked")
        .await;
    audit.assert_status(200);
    let entries = audit.body.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{audit:?}");
    assert!(entries.iter().all(|e| e["details"]["reason"] == "roles-changed" && e["actor"]["userName"] == "admin"));
    assert!(
        !audit.body.to_string().contains("tpat_"),
        "audit must never hold a secret"
    );
}

#[tokio::test]
async fn deactivation_kills_every_credential_and_activation_does_not_revive_them() {
    let app = spawn_app().await;
    let (jane_id, jane) = app.user_with_token("jane", &[]).await;
    let key = app.regenerate_api_key(&jane).await;
    app.assert_whoami(Auth::Bearer(&jane), 200).await;

    let off = app
        .admin_post_empty(&format!("/api/admin/v1/users/{jane_id}/deactivate"))
        .await;
    off.assert_status(200);
    assert_eq!(off.body["status"], "deactivated");
    app.assert_whoami(Auth::Bearer(&jane), 401).await;
    app.assert_whoami(Auth::ApiKey(&key), 401).await;

    app.admin_post_empty(&format!("/api/admin/v1/users/{jane_id}/activate"))
        .await
        .assert_status(200);
    app.assert_whoami(Auth::Bearer(&jane), 401).await;
    app.assert_whoami(Auth::ApiKey(&key), 401).await;
    let fresh = operator_token(&app.state, "jane", "after").await;
    app.assert_whoami(Auth::Bearer(&fresh), 200).await;
}

#[tokio::test]
async fn an_admin_cannot_demote_or_deactivate_themselves() {
    let app = spawn_app().await;
    let admin_id = app.admin_get("/v4/users/self").await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.admin_put(
        &format!("/api/admin/v1/users/{admin_id}/roles"),
        json!({ "roles": ["Practitioner"] }),
    )
    .await
    .assert_status(409);
    app.admin_post_empty(&format!("/api/admin/v1/users/{admin_id}/deactivate"))
        .await
        .assert_status(409);
    app.admin_get("/v4/users/self").await.assert_status(200);
}

#[tokio::test]
async fn an_admin_sets_a_password_of_adequate_length() {
    let app = spawn_app().await;
    let id = app.create_user("jane", &[]).await;
    let short = app
        .admin_post(
            &format!("/api/admin/v1/users/{id}/password"),
            json!({ "password": "short" }),
        )
        .await;
    short.assert_status(400);
    assert!(short.error().starts_with("password"));
    app.admin_post(
        &format!("/api/admin/v1/users/{id}/password"),
        json!({ "password": "a much longer passphrase" }),
    )
    .await
    .assert_status(204);
    let audit = app
        .admin_get("/api/admin/v1/audit?action=user.password-set")
        .await;
    assert_eq!(audit.body.as_array().map(Vec::len), Some(1));
    assert!(!audit.body.to_string().contains("passphrase"));
}
