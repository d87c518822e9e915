//! Projects on Domino's paths: creation, visibility, discovery, collaborators by owner or admin.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, TestApp, spawn_app};

async fn project(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app.post("/v4/projects", token, body).await;
    reply.assert_status(200);
    reply.body
}

#[tokio::test]
async fn a_user_creates_a_project_that_the_client_finds_by_owner_and_name() {
    let app = spawn_app().await;
    let (jane_id, jane) = app.user_with_token("jane", &[]).await;
    let created = project(
        &app,
        &jane,
        json!({ "name": "churn-model", "description": "d" }),
    )
    .await;
    assert_eq!(created["name"], "churn-model");
    assert_eq!(created["ownerId"], jane_id.as_str());
    assert_eq!(created["ownerName"], "jane");
    assert_eq!(created["visibility"], "private");

    let found = app
        .get(
            "/v4/gateway/projects/findProjectByOwnerAndName?ownerName=jane&projectName=churn-model",
            &jane,
        )
        .await;
    found.assert_status(200);
    assert_eq!(found.body["id"], created["id"]);
    app.get(
        &format!("/v4/projects/{}", created["id"].as_str().unwrap()),
        &jane,
    )
    .await
    .assert_status(200);

    let again = app
        .post("/v4/projects", &jane, json!({ "name": "churn-model" }))
        .await;
    again.assert_status(409).assert_envelope();
    for (body, field) in [
        (json!({ "name": "bad name" }), "name"),
        (json!({ "name": "x", "visibility": "secret" }), "visibility"),
        (
            json!({ "name": "x", "collaborators": [{ "collaboratorId": "nope", "projectRole": "Owner" }] }),
            "collaborators",
        ),
    ] {
        let reply = app.post("/v4/projects", &jane, body.clone()).await;
        reply.assert_status(400).assert_envelope();
        assert!(reply.error().contains(field), "{body}: {reply:?}");
    }
    app.send(
        Method::POST,
        "/v4/projects",
        Auth::None,
        Some(json!({ "name": "x" })),
    )
    .await
    .assert_status(401);
}

#[tokio::test]
async fn only_an_admin_creates_a_project_for_someone_else() {
    let app = spawn_app().await;
    let (jane_id, jane) = app.user_with_token("jane", &[]).await;
    let (_, john) = app.user_with_token("john", &[]).await;
    app.post(
        "/v4/projects",
        &john,
        json!({ "name": "p", "ownerId": jane_id }),
    )
    .await
    .assert_status(403);
    let made = project(
        &app,
        &app.admin_token,
        json!({ "name": "p", "ownerId": jane_id }),
    )
    .await;
    assert_eq!(made["ownerName"], "jane");
    app.get(
        &format!("/v4/projects/{}", made["id"].as_str().unwrap()),
        &jane,
    )
    .await
    .assert_status(200);
}

#[tokio::test]
async fn a_private_project_is_invisible_to_outsiders_and_a_public_one_is_not() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, outsider) = app.user_with_token("mallory", &[]).await;
    let private = project(&app, &jane, json!({ "name": "secret" })).await;
    let public = project(
        &app,
        &jane,
        json!({ "name": "open", "visibility": "public" }),
    )
    .await;
    let path = |p: &Value| format!("/v4/projects/{}", p["id"].as_str().unwrap());

    app.get(&path(&private), &outsider)
        .await
        .assert_status(404)
        .assert_envelope();
    app.get(
        "/v4/gateway/projects/findProjectByOwnerAndName?ownerName=jane&projectName=secret",
        &outsider,
    )
    .await
    .assert_status(404);
    app.get(&path(&public), &outsider).await.assert_status(200);
    app.admin_get(&path(&private)).await.assert_status(200);
    app.get("/v4/projects/not-an-id", &jane)
        .await
        .assert_status(404);
}

#[tokio::test]
async fn collaborators_are_managed_by_the_owner_or_an_admin_only() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (john_id, john) = app.user_with_token("john", &[]).await;
    let ann_id = app.create_user("ann", &[]).await;
    let p = project(&app, &jane, json!({ "name": "shared" })).await;
    let id = p["id"].as_str().unwrap();
    let collaborators = format!("/v4/projects/{id}/collaborators");

    // An outsider cannot see the private project at all.
    app.post(
        &collaborators,
        &john,
        json!({ "collaboratorId": john_id, "projectRole": "Owner" }),
    )
    .await
    .assert_status(404);

    let added = app
        .post(
            &collaborators,
            &jane,
            json!({ "collaboratorId": john_id, "projectRole": "Contributor" }),
        )
        .await;
    added.assert_status(200);
    assert_eq!(
        added.body["collaborators"],
        json!([{ "collaboratorId": john_id, "userName": "john", "projectRole": "Contributor" }])
    );
    // A collaborator sees the project but cannot change who else does.
    app.get(&format!("/v4/projects/{id}"), &john)
        .await
        .assert_status(200);
    app.post(
        &collaborators,
        &john,
        json!({ "collaboratorId": ann_id, "projectRole": "Owner" }),
    )
    .await
    .assert_status(403)
    .assert_envelope();
    app.delete(&format!("{collaborators}/{john_id}"), &john)
        .await
        .assert_status(403);

    // Changing a role replaces it; an admin may manage too.
    let changed = app
        .admin_post(
            &collaborators,
            json!({ "collaboratorId": john_id, "projectRole": "ResultsConsumer" }),
        )
        .await;
    assert_eq!(
        changed.body["collaborators"][0]["projectRole"],
        "ResultsConsumer"
    );
    let owned = app
        .get("/v4/gateway/projects?relationship=Owned", &john)
        .await;
    assert_eq!(owned.body.as_array().map(Vec::len), Some(0));
    let collaborating = app
        .get("/v4/gateway/projects?relationship=Collaborating", &john)
        .await;
    assert_eq!(collaborating.body[0]["name"], "shared");
    app.get("/v4/gateway/projects?relationship=Sideways", &john)
        .await
        .assert_status(400);

    for (body, field) in [
        (
            json!({ "collaboratorId": ann_id, "projectRole": "Boss" }),
            "projectRole",
        ),
        (
            json!({ "collaboratorId": "00000000-0000-0000-0000-000000000000", "projectRole": "Owner" }),
            "collaboratorId",
        ),
        (
            json!({ "collaboratorId": p["ownerId"], "projectRole": "Owner" }),
            "collaboratorId",
        ),
    ] {
        let reply = app.post(&collaborators, &jane, body.clone()).await;
        reply.assert_status(400);
        assert!(reply.error().contains(field), "{body}: {reply:?}");
    }

    let removed = app
        .delete(&format!("{collaborators}/{john_id}"), &jane)
        .await;
    removed.assert_status(200);
    assert_eq!(removed.body["collaborators"], json!([]));
    app.get(&format!("/v4/projects/{id}"), &john)
        .await
        .assert_status(404);
    app.delete(&format!("{collaborators}/{john_id}"), &jane)
        .await
        .assert_status(404);
}
