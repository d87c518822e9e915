//! Invoking model APIs on Domino's wire with real model servers on real ports: restricted
//! accepts only `token:token` of that model API; versions, envelope, logs, token management.

use axum::Json;
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, TestApp, spawn_app};

const BASE: &str = "/api/modelServing/v1/modelApis";

/// A model server answering `{"sum": a + b, "v": label}`.
async fn model_server(label: u64) -> String {
    let app = axum::Router::new().route(
        "/",
        post(move |Json(input): Json<Value>| async move {
            let d = &input["data"];
            Json(json!({ "sum": d["a"].as_f64().unwrap_or(0.0) + d["b"].as_f64().unwrap_or(0.0), "v": label }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

struct Deployed {
    app: TestApp,
    api: String,
    owner: String,
    token: String,
    token_id: String,
}

async fn deployed(authorization: &str) -> Deployed {
    let app = spawn_app().await;
    let (_, owner) = app.user_with_token("owner", &[]).await;
    let project = app.create_project(&owner, "p").await;
    let api = app
        .post(BASE, &owner, json!({ "name": "adder", "projectId": project, "kind": "sync", "visibility": "private", "authorization": authorization }))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    for label in [1, 2] {
        let url = model_server(label).await;
        app.deploy_model_version(&owner, &api, &url).await;
    }
    let created = app.create_model_token(&owner, &api, "client").await;
    let token = created.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("tmat_"));
    Deployed {
        token_id: created.body["id"].as_str().unwrap().to_string(),
        app,
        api,
        owner,
        token,
    }
}

async fn call(d: &Deployed, path: &str, auth: Auth<'_>) -> crate::helpers::Reply {
    d.app
        .send(
            Method::POST,
            &format!("/models/{}/{path}", d.api),
            auth,
            Some(json!({ "data": { "a": 2, "b": 3 } })),
        )
        .await
}

#[tokio::test]
async fn a_restricted_sync_model_accepts_only_its_own_token_as_user_and_password() {
    let d = deployed("restricted").await;
    let ok = call(&d, "latest/model", Auth::Basic(&d.token, &d.token)).await;
    ok.assert_status(200);
    assert_eq!(ok.body["result"], json!({ "sum": 5.0, "v": 1 }));
    assert_eq!(ok.body["release"]["model_version_number"], 1);
    assert!(ok.body["request_id"].is_string() && ok.body["timing"]["model_time_ms"].is_number());
    assert_eq!(ok.header("access-control-allow-origin"), Some("*"));

    let other = deployed("restricted").await;
    let (_, pat) = d.app.user_with_token("jane", &[]).await;
    for (what, auth) in [
        ("nothing", Auth::None),
        ("Bearer", Auth::Bearer(&d.token)),
        (":token", Auth::Basic("", &d.token)),
        ("token:other", Auth::Basic(&d.token, "x")),
        ("API key header", Auth::ApiKey(&d.token)),
        ("a PAT", Auth::Basic(&pat, &pat)),
        (
            "another model's token",
            Auth::Basic(&other.token, &other.token),
        ),
    ] {
        let refused = call(&d, "latest/model", auth).await;
        refused.assert_status(401).assert_envelope();
        assert!(
            refused
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Basic realm=") && h.contains("charset=\"UTF-8\"")),
            "{what}"
        );
    }

    // Revoked: refused at once.
    d.app
        .delete(
            &format!("{BASE}/{}/accessTokens/{}", d.api, d.token_id),
            &d.owner,
        )
        .await
        .assert_status(200);
    call(&d, "latest/model", Auth::Basic(&d.token, &d.token))
        .await
        .assert_status(401);
}

#[tokio::test]
async fn an_unrestricted_model_needs_no_credential_whatever_its_visibility() {
    let d = deployed("unrestricted").await;
    let ok = call(&d, "latest/model", Auth::None).await;
    ok.assert_status(200);
    assert_eq!(ok.body["result"]["sum"], 5.0);
}

#[tokio::test]
async fn versions_are_called_by_number_and_latest_follows_the_active_one() {
    let d = deployed("unrestricted").await;
    assert_eq!(
        call(&d, "v/2/model", Auth::None).await.body["result"]["v"],
        2
    );
    assert_eq!(
        call(&d, "latest/model", Auth::None).await.body["result"]["v"],
        1
    );
    d.app
        .post_empty(&format!("{BASE}/{}/versions/2/activate", d.api), &d.owner)
        .await
        .assert_status(200);
    assert_eq!(
        call(&d, "latest/model", Auth::None).await.body["result"]["v"],
        2
    );
    call(&d, "v/9/model", Auth::None).await.assert_status(404);
    let bad = d
        .app
        .send(
            Method::POST,
            &format!("/models/{}/latest/model", d.api),
            Auth::None,
            Some(json!({ "x": 1 })),
        )
        .await;
    bad.assert_status(400);
    d.app
        .send(
            Method::POST,
            "/models/00000000-0000-0000-0000-000000000000/latest/model",
            Auth::None,
            Some(json!({ "data": {} })),
        )
        .await
        .assert_status(404);
}

#[tokio::test]
async fn token_management_follows_the_table_and_reveals_are_audited() {
    let d = deployed("restricted").await;
    let (_, editor) = d.app.user_with_token("ed", &[]).await;
    let (_, viewer) = d.app.user_with_token("vi", &[]).await;
    for (who, role) in [("ed", "editor"), ("vi", "viewer")] {
        d.app
            .post(
                &format!("{BASE}/{}/collaborators", d.api),
                &d.owner,
                json!({ "userName": who, "role": role }),
            )
            .await
            .assert_status(201);
    }
    let tokens = format!("{BASE}/{}/accessTokens", d.api);
    d.app.get(&tokens, &viewer).await.assert_status(403);
    d.app
        .post(&tokens, &viewer, json!({ "name": "x" }))
        .await
        .assert_status(403);
    let listed = d.app.get(&tokens, &editor).await;
    listed.assert_status(200);
    assert!(
        !listed.body.to_string().contains("tmat_"),
        "a listing shows a secret"
    );
    let made = d
        .app
        .post(&tokens, &editor, json!({ "name": "editor-made" }))
        .await;
    made.assert_status(201);
    let revealed = d
        .app
        .post_empty(&format!("{tokens}/{}/reveal", d.token_id), &editor)
        .await;
    revealed.assert_status(200);
    assert_eq!(revealed.body["token"], d.token.as_str());
    d.app
        .post_empty(&format!("{tokens}/{}/reveal", d.token_id), &viewer)
        .await
        .assert_status(403);
    // Only the owner revokes.
    d.app
        .delete(&format!("{tokens}/{}", d.token_id), &editor)
        .await
        .assert_status(403);
    let audit = d
        .app
        .get(
            "/api/admin/v1/audit?action=model-token.revealed",
            &d.app.admin_token,
        )
        .await;
    assert_eq!(audit.body.as_array().map(Vec::len), Some(1), "{audit:?}");
    assert!(!audit.body.to_string().contains("tmat_"));
    // The model API's own history: its events only, to its owner and editors.
    let history = d.app.get(&format!("{BASE}/{}/audit", d.api), &editor).await;
    history.assert_status(200);
    let actions: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in ["model-token.revealed", "model-token.created"] {
        assert!(actions.contains(&expected), "{actions:?}");
    }
    assert!(
        history
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["target"]["id"] == d.api.as_str()),
        "{history:?}"
    );
    assert!(!history.body.to_string().contains("tmat_"));
    // Deploying needs the project role too: an editor who is no project member cannot.
    d.app
        .post(
            &format!("{BASE}/{}/versions", d.api),
            &editor,
            json!({ "upstreamUrl": "http://127.0.0.1:1" }),
        )
        .await
        .assert_status(403);
    d.app
        .post(
            &format!("{BASE}/{}/versions", d.api),
            &d.owner,
            json!({ "upstreamUrl": "ftp://x" }),
        )
        .await
        .assert_status(400);
}

#[tokio::test]
async fn every_invocation_is_logged_with_the_token_name_never_its_value() {
    let d = deployed("restricted").await;
    call(&d, "latest/model", Auth::Basic(&d.token, &d.token))
        .await
        .assert_status(200);
    let logs = format!("{BASE}/{}/logs", d.api);
    let seen = crate::helpers::eventually(std::time::Duration::from_secs(5), || async {
        d.app
            .get(&logs, &d.owner)
            .await
            .body
            .as_array()
            .is_some_and(|l| !l.is_empty())
    })
    .await;
    assert!(seen, "no log entry");
    let entries = d.app.get(&logs, &d.owner).await.body;
    assert_eq!(entries[0]["tokenName"], "client");
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(entries[0]["version"], 1);
    assert!(!entries.to_string().contains(&d.token));
    let (_, stranger) = d.app.user_with_token("stranger", &[]).await;
    d.app.get(&logs, &stranger).await.assert_status(404);
}
