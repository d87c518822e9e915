//! The web UI's model API pages over HTTP: what each role is offered and refused (both
//! sides), sample requests for the invocation method, deploying, sharing, and access tokens
//! generated, revealed and revoked from the page and checked against a real invocation.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cases::ui::{Browser, hidden, hidden_value, user_with_password};
use crate::helpers::{Auth, TestApp, spawn_app};

const BASE: &str = "/api/modelServing/v1/modelApis";

/// A model API owned by `owner` (password "owner-password-1") in a fresh project.
async fn model(app: &TestApp, kind: &str, visibility: &str) -> (String, String) {
    user_with_password(app, "owner", "owner-password-1").await;
    let owner = crate::helpers::operator_token(&app.state, "owner", "setup").await;
    let project = app.create_project(&owner, "p").await;
    let created = app
        .post(BASE, &owner, json!({ "name": "churn", "projectId": project, "kind": kind, "visibility": visibility, "authorization": "restricted" }))
        .await;
    created.assert_status(201);
    (created.body["id"].as_str().unwrap().to_string(), owner)
}

async fn model_server() -> String {
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(|axum::Json(v): axum::Json<Value>| async move {
            axum::Json(json!({ "echo": v["data"] }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn each_role_is_offered_what_it_may_do_and_refused_the_rest() {
    let app = spawn_app().await;
    let (id, owner) = model(&app, "sync", "private").await;
    user_with_password(&app, "vic", "vic-password-12").await;
    user_with_password(&app, "stranger", "stranger-pass-1").await;
    app.share_model_api(&owner, &id, json!({ "userName": "vic", "role": "viewer" }))
        .await
        .assert_status(201);

    let mut owner_b = Browser::new(&app);
    owner_b.login("owner", "owner-password-1").await;
    let page = owner_b.get(&format!("/ui/models/{id}")).await;
    assert_eq!(page.status, 200);
    for offered in [
        "/settings\"",
        "name=\"upstream_url\"",
        "id=\"logs-h\"",
        "id=\"audit-h\"",
    ] {
        assert!(page.html.contains(offered), "owner not offered {offered}");
    }
    assert!(page.html.contains(&format!("/models/{id}/latest/model")));
    assert!(
        page.html.contains("-u &quot;$TOKEN:$TOKEN&quot;")
            || page.html.contains("-u \"$TOKEN:$TOKEN\""),
        "{}",
        page.html
    );

    let mut vic = Browser::new(&app);
    vic.login("vic", "vic-password-12").await;
    let csrf = vic.csrf().await;
    let page = vic.get(&format!("/ui/models/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("id=\"logs-h\""), "a viewer sees logs");
    for hidden_part in ["/settings\"", "name=\"upstream_url\"", "id=\"audit-h\""] {
        assert!(
            !page.html.contains(hidden_part),
            "viewer offered {hidden_part}"
        );
    }
    assert_eq!(
        vic.get(&format!("/ui/models/{id}/settings")).await.status,
        403
    );
    assert_eq!(
        vic.post(
            &format!("/ui/models/{id}/tokens"),
            &[("csrf", &csrf), ("name", "mine")]
        )
        .await
        .status,
        403
    );
    assert_eq!(
        vic.post(
            &format!("/ui/models/{id}/versions"),
            &[("csrf", &csrf), ("upstream_url", "http://127.0.0.1:9")]
        )
        .await
        .status,
        403
    );
    let tokens = app.get(&format!("{BASE}/{id}/accessTokens"), &owner).await;
    assert_eq!(tokens.body.as_array().unwrap().len(), 0);

    let mut stranger = Browser::new(&app);
    stranger.login("stranger", "stranger-pass-1").await;
    assert_eq!(stranger.get(&format!("/ui/models/{id}")).await.status, 404);
    assert!(!stranger.get("/ui/models").await.html.contains("churn"));
    app.set_model_visibility(&owner, &id, "public")
        .await
        .assert_status(200);
    let page = stranger.get(&format!("/ui/models/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.html.contains("id=\"logs-h\""),
        "logs shown to a stranger"
    );
}

#[tokio::test]
async fn tokens_are_generated_revealed_and_revoked_from_the_settings_page() {
    let app = spawn_app().await;
    let (id, _) = model(&app, "sync", "private").await;
    let mut owner = Browser::new(&app);
    owner.login("owner", "owner-password-1").await;
    let csrf = owner.csrf().await;

    let bad = owner
        .post(
            &format!("/ui/models/{id}/versions"),
            &[("csrf", &csrf), ("upstream_url", "ftp://x")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.html.contains("id=\"upstream-error\"") && bad.html.contains("value=\"ftp://x\""));
    let url = model_server().await;
    let deployed = owner
        .post(
            &format!("/ui/models/{id}/versions"),
            &[("csrf", &csrf), ("upstream_url", &url)],
        )
        .await;
    assert_eq!(deployed.status, 303);

    let made = owner
        .post(
            &format!("/ui/models/{id}/tokens"),
            &[("csrf", &csrf), ("name", "app")],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.html);
    let token = hidden_value(&made.html, "model-token");
    assert!(token.starts_with("tmat_"));
    let call = |token: String| {
        let app = &app;
        let id = id.clone();
        async move {
            app.send(
                Method::POST,
                &format!("/models/{id}/latest/model"),
                Auth::Basic(&token, &token),
                Some(json!({ "data": { "x": 1 } })),
            )
            .await
            .status
            .as_u16()
        }
    };
    assert_eq!(call(token.clone()).await, 200);

    let settings = owner.get(&format!("/ui/models/{id}/settings")).await;
    assert!(
        !settings.html.contains(&token),
        "the value is shown without a reveal"
    );
    let token_id = app
        .get(
            &format!("{BASE}/{id}/accessTokens"),
            &crate::helpers::operator_token(&app.state, "owner", "x").await,
        )
        .await
        .body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let revealed = owner
        .post(
            &format!("/ui/models/{id}/tokens/{token_id}/reveal"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(hidden_value(&revealed.html, "model-token"), token);
    let revoked = owner
        .post(
            &format!("/ui/models/{id}/tokens/{token_id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303);
    assert_eq!(call(token.clone()).await, 401);
    let page = owner.get(&format!("/ui/models/{id}")).await;
    assert!(
        page.html.contains("model-token.revealed"),
        "the reveal is in the history"
    );
}

#[tokio::test]
async fn sharing_is_the_owners_and_editors_see_settings_without_it() {
    let app = spawn_app().await;
    let (id, _) = model(&app, "async", "private").await;
    user_with_password(&app, "eddie", "eddie-password-1").await;
    let mut owner = Browser::new(&app);
    owner.login("owner", "owner-password-1").await;
    let csrf = owner.csrf().await;
    let page = owner.get(&format!("/ui/models/{id}")).await;
    assert!(
        page.html.contains("/api/modelApis/async/v1/") && page.html.contains("Bearer"),
        "async samples"
    );

    let bad = owner
        .post(
            &format!("/ui/models/{id}/collaborators"),
            &[
                ("csrf", &csrf),
                ("kind", "email"),
                ("grantee", "not-an-email"),
                ("role", "editor"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    let added = owner
        .post(
            &format!("/ui/models/{id}/collaborators"),
            &[
                ("csrf", &csrf),
                ("kind", "email"),
                ("grantee", "eddie@example.com"),
                ("role", "editor"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.html);
    let settings = owner.get(&format!("/ui/models/{id}/settings")).await;
    assert!(settings.html.contains("data-collaborator=\"eddie\""));
    assert!(settings.html.contains("Transfer ownership"));

    let mut eddie = Browser::new(&app);
    eddie.login("eddie", "eddie-password-1").await;
    let eddie_csrf = eddie.csrf().await;
    let page = eddie.get(&format!("/ui/models/{id}/settings")).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.html.contains("Transfer ownership") && !page.html.contains("name=\"visibility\"")
    );
    assert!(page.html.contains("Generate token"));
    assert!(
        !page.html.contains(">Revoke<"),
        "an editor is offered revoking"
    );
    let refused = eddie
        .post(
            &format!("/ui/models/{id}/visibility"),
            &[("csrf", &eddie_csrf), ("visibility", "public")],
        )
        .await;
    assert_eq!(refused.status, 403);
    let changed = eddie
        .post(
            &format!("/ui/models/{id}/authorization"),
            &[("csrf", &eddie_csrf), ("authorization", "unrestricted")],
        )
        .await;
    assert_eq!(changed.status, 303);

    let moved = owner
        .post(
            &format!("/ui/models/{id}/transfer"),
            &[
                ("csrf", &hidden(&settings.html, "csrf")),
                ("user_name", "eddie"),
            ],
        )
        .await;
    assert_eq!(moved.status, 303);
    let page = eddie.get(&format!("/ui/models/{id}/settings")).await;
    assert!(
        page.html.contains("Transfer ownership"),
        "the new owner manages sharing"
    );
}
