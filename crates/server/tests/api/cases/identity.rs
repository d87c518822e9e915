//! Domino identity endpoints, version, health and the request id on every response.

use reqwest::Method;

use crate::helpers::{Auth, spawn_app};

#[tokio::test]
async fn version_names_a_domino_api_level_clients_accept() {
    let app = spawn_app().await;
    let reply = app.send(Method::GET, "/version", Auth::None, None).await;
    reply.assert_status(200);
    let version: Vec<u32> = reply.body["version"]
        .as_str()
        .unwrap()
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(version >= vec![4, 1, 0], "{version:?}");
    assert!(reply.body["tesseraVersion"].is_string());
}

#[tokio::test]
async fn users_self_and_the_directory_have_dominos_fields() {
    let app = spawn_app().await;
    let (id, jane) = app.user_with_token("jane", &[]).await;
    let me = app.get("/v4/users/self", &jane).await;
    for field in [
        "firstName",
        "lastName",
        "fullName",
        "userName",
        "email",
        "avatarUrl",
        "id",
    ] {
        assert!(me.body.get(field).is_some(), "{field} missing in {me:?}");
    }
    assert_eq!(me.body["id"], id.as_str());
    let directory = app.get("/v4/users?userName=jane", &jane).await;
    directory.assert_status(200);
    assert_eq!(directory.body.as_array().map(Vec::len), Some(1));
    assert_eq!(directory.body[0]["userName"], "jane");
    app.send(Method::GET, "/v4/users", Auth::None, None)
        .await
        .assert_status(401);
}

#[tokio::test]
async fn the_principal_endpoint_answers_anonymous_for_a_missing_or_bad_credential() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let revoked = app.create_pat(&jane, "gone", 60).await;
    app.revoke_pat(&jane, &revoked).await;
    for auth in [
        Auth::None,
        Auth::Bearer("garbage"),
        Auth::Bearer(revoked["token"].as_str().unwrap()),
    ] {
        let reply = app
            .send(Method::GET, "/v4/auth/principal", auth, None)
            .await;
        reply.assert_status(200);
        assert_eq!(reply.body["isAnonymous"], true);
        assert_eq!(reply.body["isAdmin"], false);
    }
    let user = app.get("/v4/auth/principal", &jane).await;
    assert_eq!(
        (
            user.body["isAnonymous"].as_bool(),
            user.body["isAdmin"].as_bool(),
            user.body["canonicalName"].as_str()
        ),
        (Some(false), Some(false), Some("jane"))
    );
    let admin = app.admin_get("/v4/auth/principal").await;
    assert_eq!(
        (
            admin.body["isAdmin"].as_bool(),
            admin.body["canonicalName"].as_str()
        ),
        (Some(true), Some("admin"))
    );
}

#[tokio::test]
async fn health_readiness_and_request_ids() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/version"] {
        let reply = app.send(Method::GET, path, Auth::None, None).await;
        reply.assert_status(200);
        assert!(
            reply
                .header("x-request-id")
                .is_some_and(|id| id.len() == 36),
            "{path}"
        );
    }
    let a = app.send(Method::GET, "/healthz", Auth::None, None).await;
    let b = app.send(Method::GET, "/healthz", Auth::None, None).await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
}
