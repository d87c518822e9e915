//! Refused model credentials count towards the failure throttle like any other (SPEC sections
//! 6 and 9): every kind of refusal, sync and async, is a counted authentication failure, 429
//! with `Retry-After` over the limit, while a valid model token always passes.

use axum::Json;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Auth, Reply, TestApp, spawn_app, spawn_app_with};

const BASE: &str = "/api/modelServing/v1/modelApis";
const ASYNC: &str = "/api/modelApis/async/v1";

/// A counter of the metrics, as `/metrics` renders it.
fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app.state.metrics.render(0);
    text.lines()
        .find_map(|line| {
            line.strip_prefix(name)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

fn failures(app: &TestApp) -> u64 {
    counter(app, "tessera_authentication_failures_total")
}

fn throttled(app: &TestApp) -> u64 {
    counter(app, "tessera_throttled_total")
}

/// A restricted model API of `kind` with one version and one token; (id, token, token id).
struct Model {
    id: String,
    token: String,
    token_id: String,
}

async fn restricted(app: &TestApp, owner: &str, project: &str, kind: &str, name: &str) -> Model {
    let created = app
        .post(BASE, owner, json!({ "name": name, "projectId": project, "kind": kind, "visibility": "private", "authorization": "restricted" }))
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_string();
    let server = axum::Router::new().fallback(|| async { Json(json!({ "ok": true })) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, server).await });
    app.deploy_model_version(owner, &id, &url).await;
    let token = app.create_model_token(owner, &id, "client").await;
    Model {
        id,
        token: token.body["token"].as_str().unwrap().to_string(),
        token_id: token.body["id"].as_str().unwrap().to_string(),
    }
}

/// A sync model, another sync model and an async model of one owner.
async fn models(app: &TestApp) -> (String, Model, Model, Model) {
    let (_, owner) = app.user_with_token("owner", &[]).await;
    let project = app.create_project(&owner, "p").await;
    let sync = restricted(app, &owner, &project, "sync", "scorer").await;
    let other = restricted(app, &owner, &project, "sync", "other").await;
    let batch = restricted(app, &owner, &project, "async", "batch").await;
    (owner, sync, other, batch)
}

async fn call(app: &TestApp, m: &Model, auth: Auth<'_>) -> Reply {
    app.send(
        Method::POST,
        &format!("/models/{}/latest/model", m.id),
        auth,
        Some(json!({ "data": {} })),
    )
    .await
}

async fn submit(app: &TestApp, m: &Model, auth: Auth<'_>) -> Reply {
    app.send(
        Method::POST,
        &format!("{ASYNC}/{}", m.id),
        auth,
        Some(json!({ "parameters": {} })),
    )
    .await
}

async fn status(app: &TestApp, m: &Model, prediction: &str, auth: Auth<'_>) -> Reply {
    app.send(
        Method::GET,
        &format!("{ASYNC}/{}/{prediction}", m.id),
        auth,
        None,
    )
    .await
}

#[tokio::test]
async fn a_hundred_and_forty_bad_model_tokens_are_throttled_after_sixty_and_counted() {
    let app = spawn_app().await;
    let (_, sync, _, _) = models(&app).await;
    let (failed_before, throttled_before) = (failures(&app), throttled(&app));
    let bad = "tmat_not-a-token-of-this-model";
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..140 {
        let reply = call(&app, &sync, Auth::Basic(bad, bad)).await;
        if reply.status == 429 {
            reply.assert_envelope();
            let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        }
        *statuses.entry(reply.status.as_u16()).or_insert(0) += 1;
    }
    assert_eq!(statuses, [(401, 60), (429, 80)].into_iter().collect());
    assert_eq!(failures(&app) - failed_before, 140);
    assert_eq!(throttled(&app) - throttled_before, 80);
    // The address is over the limit; the model's own token still passes.
    call(&app, &sync, Auth::Basic(&sync.token, &sync.token))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn every_kind_of_refused_model_credential_counts_and_no_credential_does_not() {
    let app = spawn_app().await;
    let (owner, sync, other, batch) = models(&app).await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let revoked = app
        .post(
            &format!("{BASE}/{}/accessTokens", sync.id),
            &owner,
            json!({ "name": "old" }),
        )
        .await;
    let revoked_token = revoked.body["token"].as_str().unwrap().to_string();
    app.delete(
        &format!(
            "{BASE}/{}/accessTokens/{}",
            sync.id,
            revoked.body["id"].as_str().unwrap()
        ),
        &owner,
    )
    .await
    .assert_status(200);
    let prediction = submit(&app, &batch, Auth::Bearer(&batch.token)).await;
    prediction.assert_status(200);
    let prediction = prediction.body["asyncPredictionId"].as_str().unwrap();

    let sync_refusals = [
        ("wrong token", Auth::Basic("tmat_wrong", "tmat_wrong")),
        ("the token as Bearer", Auth::Bearer(&sync.token)),
        ("malformed Basic", Auth::Raw("Basic !!!not-base64")),
        ("unknown scheme", Auth::Raw("Token abc")),
        (":token", Auth::Basic("", &sync.token)),
        ("token:other", Auth::Basic(&sync.token, "x")),
        ("a PAT", Auth::Basic(&pat, &pat)),
        ("an API key header", Auth::ApiKey(&sync.token)),
        (
            "another model's token",
            Auth::Basic(&other.token, &other.token),
        ),
        (
            "a revoked token",
            Auth::Basic(&revoked_token, &revoked_token),
        ),
    ];
    for (what, auth) in sync_refusals {
        let before = failures(&app);
        call(&app, &sync, auth).await.assert_status(401);
        assert_eq!(failures(&app) - before, 1, "sync: {what}");
    }
    let async_refusals = [
        ("wrong token", Auth::Bearer("tmat_wrong")),
        ("Basic token:token", Auth::Basic(&batch.token, &batch.token)),
        ("another model's token", Auth::Bearer(&sync.token)),
        ("malformed", Auth::Raw("Bearer")),
    ];
    for (what, auth) in async_refusals {
        let before = failures(&app);
        submit(&app, &batch, auth).await.assert_status(401);
        assert_eq!(failures(&app) - before, 1, "async submit: {what}");
        let before = failures(&app);
        status(&app, &batch, prediction, auth)
            .await
            .assert_status(401);
        assert_eq!(failures(&app) - before, 1, "async status: {what}");
    }

    let before = failures(&app);
    call(&app, &sync, Auth::None).await.assert_status(401);
    submit(&app, &batch, Auth::None).await.assert_status(401);
    status(&app, &batch, prediction, Auth::None)
        .await
        .assert_status(401);
    call(&app, &sync, Auth::Basic(&sync.token, &sync.token))
        .await
        .assert_status(200);
    assert_eq!(
        failures(&app),
        before,
        "no credential or a valid one is no failure"
    );
}

#[tokio::test]
async fn over_the_limit_valid_model_tokens_still_pass_sync_and_async() {
    let app = spawn_app_with(|c| c.throttle.max_failures = 3).await;
    let (owner, sync, _, batch) = models(&app).await;
    for _ in 0..3 {
        submit(&app, &batch, Auth::Bearer("tmat_wrong"))
            .await
            .assert_status(401);
    }
    let throttled_reply = call(&app, &sync, Auth::Basic("tmat_wrong", "tmat_wrong")).await;
    throttled_reply.assert_status(429).assert_envelope();
    assert!(throttled_reply.header("retry-after").is_some());
    assert_eq!(
        throttled_reply.header("access-control-allow-origin"),
        Some("*")
    );

    call(&app, &sync, Auth::Basic(&sync.token, &sync.token))
        .await
        .assert_status(200);
    let accepted = submit(&app, &batch, Auth::Bearer(&batch.token)).await;
    accepted.assert_status(200);
    let prediction = accepted.body["asyncPredictionId"].as_str().unwrap();
    status(&app, &batch, prediction, Auth::Bearer(&batch.token))
        .await
        .assert_status(200);
    status(&app, &batch, prediction, Auth::Bearer("tmat_wrong"))
        .await
        .assert_status(429);

    // A token revoked while the address is throttled is refused like any bad one.
    app.delete(
        &format!("{BASE}/{}/accessTokens/{}", sync.id, sync.token_id),
        &owner,
    )
    .await
    .assert_status(200);
    call(&app, &sync, Auth::Basic(&sync.token, &sync.token))
        .await
        .assert_status(429);
}

#[tokio::test]
async fn two_authorization_lines_to_a_model_are_refused_not_chosen_between() {
    let app = spawn_app().await;
    let (_, sync, other, batch) = models(&app).await;
    let basic = |t: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{t}:{t}"))
        )
    };
    let sync_request = |first: String, second: String| {
        let json = r#"{"data":{}}"#;
        format!(
            "POST /models/{}/latest/model HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nAuthorization: {first}\r\nAuthorization: {second}\r\n\r\n{json}",
            sync.id,
            json.len()
        )
    };
    let two = crate::cases::raw_http::send(
        &app.address,
        &sync_request(basic(&sync.token), basic(&other.token)),
    )
    .await;
    assert_eq!(two.status, 401, "{}", two.text());
    let async_request = format!(
        "POST {ASYNC}/{} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 17\r\nAuthorization: Bearer {}\r\nAuthorization: Bearer x\r\n\r\n{{\"parameters\":{{}}}}",
        batch.id, batch.token
    );
    let two = crate::cases::raw_http::send(&app.address, &async_request).await;
    assert_eq!(two.status, 401, "{}", two.text());
    // The model's token with an API key beside it is two credentials too.
    let with_key = crate::cases::raw_http::send(
        &app.address,
        &sync_request(basic(&sync.token), basic(&sync.token))
            .replacen(
                "Authorization: ",
                "X-Domino-Api-Key: tkey_x\r\nAuthorization: ",
                1,
            )
            .replacen(&format!("\r\nAuthorization: {}", basic(&sync.token)), "", 1),
    )
    .await;
    assert_eq!(with_key.status, 401, "{}", with_key.text());
    // One line, the same token: accepted.
    call(&app, &sync, Auth::Basic(&sync.token, &sync.token))
        .await
        .assert_status(200);
}
