//! Async model invocation on Domino's wire with real model servers on real ports: Bearer with
//! the model's own token, the durable queue, retries after failures, refusals by the model,
//! giving up, wrong kinds and payload limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, Reply, TestApp, eventually, spawn_app_with};

const BASE: &str = "/api/modelServing/v1/modelApis";
const ASYNC: &str = "/api/modelApis/async/v1";

/// A model server that answers `failures` times with `failure`, then with
/// `{"product": x * y}` for `{"parameters": {"x": .., "y": ..}}`; counts the calls it gets.
async fn model_server(failures: usize, failure: StatusCode) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/",
        post(move |Json(input): Json<Value>| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < failures {
                    return Err((failure, "model says no"));
                }
                let p = &input["parameters"];
                let product = p["x"].as_f64().unwrap_or(0.0) * p["y"].as_f64().unwrap_or(0.0);
                Ok(Json(json!({ "product": product })))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls)
}

/// A fast-retrying app: attempts 50 ms apart, at most `attempts` of them.
async fn app(attempts: u32) -> TestApp {
    spawn_app_with(|c| {
        c.predictions.backoff = Duration::from_millis(50);
        c.predictions.poll = Duration::from_millis(50);
        c.predictions.max_attempts = attempts;
        c.body_limit = 4096;
    })
    .await
}

struct Deployed {
    api: String,
    owner: String,
    token: String,
    token_id: String,
}

async fn deploy(app: &TestApp, kind: &str, authorization: &str, upstream: &str) -> Deployed {
    let (_, owner) = app
        .user_with_token(&format!("owner{}", rand_suffix()), &[])
        .await;
    let project = app.create_project(&owner, "p").await;
    let created = app
        .post(BASE, &owner, json!({ "name": "multiplier", "projectId": project, "kind": kind, "visibility": "private", "authorization": authorization }))
        .await;
    created.assert_status(201);
    let api = created.body["id"].as_str().unwrap().to_string();
    app.deploy_model_version(&owner, &api, upstream).await;
    let token = app.create_model_token(&owner, &api, "pipeline").await;
    Deployed {
        api,
        owner,
        token: token.body["token"].as_str().unwrap().to_string(),
        token_id: token.body["id"].as_str().unwrap().to_string(),
    }
}

fn rand_suffix() -> u32 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst) as u32
}

async fn submit(app: &TestApp, d: &Deployed, auth: Auth<'_>) -> Reply {
    app.send(
        Method::POST,
        &format!("{ASYNC}/{}", d.api),
        auth,
        Some(json!({ "parameters": { "x": 6, "y": 7 } })),
    )
    .await
}

async fn poll(app: &TestApp, d: &Deployed, id: &str, auth: Auth<'_>) -> Reply {
    app.send(Method::GET, &format!("{ASYNC}/{}/{id}", d.api), auth, None)
        .await
}

/// Polls until the prediction is finished; its last status document.
async fn finished(app: &TestApp, d: &Deployed, id: &str, auth: Auth<'_>) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let reply = poll(app, d, id, auth).await;
        reply.assert_status(200);
        last = reply.body.clone();
        if last["status"] == "succeeded" || last["status"] == "failed" {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the prediction did not finish: {last}");
}

fn prediction_id(reply: &Reply) -> String {
    reply.assert_status(200);
    reply.body["asyncPredictionId"]
        .as_str()
        .expect("asyncPredictionId")
        .to_string()
}

#[tokio::test]
async fn a_restricted_async_model_takes_only_its_own_token_as_bearer() {
    let app = app(3).await;
    let (url, calls) = model_server(0, StatusCode::OK).await;
    let d = deploy(&app, "async", "restricted", &url).await;
    let accepted = submit(&app, &d, Auth::Bearer(&d.token)).await;
    assert_eq!(accepted.header("access-control-allow-origin"), Some("*"));
    let id = prediction_id(&accepted);
    let done = finished(&app, &d, &id, Auth::Bearer(&d.token)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["asyncPredictionId"], id.as_str());
    assert_eq!(done["result"], json!({ "product": 42.0 }));
    assert!(done.get("errors").is_none(), "{done}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let other = deploy(&app, "async", "restricted", &url).await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    for (what, auth) in [
        ("nothing", Auth::None),
        ("Basic token:token", Auth::Basic(&d.token, &d.token)),
        ("API key header", Auth::ApiKey(&d.token)),
        ("a PAT", Auth::Bearer(&pat)),
        ("another model's token", Auth::Bearer(&other.token)),
    ] {
        for refused in [
            submit(&app, &d, auth).await,
            poll(&app, &d, &id, auth).await,
        ] {
            refused.assert_status(401).assert_envelope();
            assert!(
                refused
                    .header("www-authenticate")
                    .is_some_and(|h| h.starts_with("Bearer realm=")),
                "{what}: {refused:?}"
            );
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a refused request ran");

    // A revoked token is refused at once, for submitting and for polling.
    app.delete(
        &format!("{BASE}/{}/accessTokens/{}", d.api, d.token_id),
        &d.owner,
    )
    .await
    .assert_status(200);
    submit(&app, &d, Auth::Bearer(&d.token))
        .await
        .assert_status(401);
    poll(&app, &d, &id, Auth::Bearer(&d.token))
        .await
        .assert_status(401);
}

#[tokio::test]
async fn an_unrestricted_async_model_needs_no_credential_and_logs_each_attempt() {
    let app = app(3).await;
    let (url, _) = model_server(0, StatusCode::OK).await;
    let d = deploy(&app, "async", "unrestricted", &url).await;
    let id = prediction_id(&submit(&app, &d, Auth::None).await);
    let done = finished(&app, &d, &id, Auth::None).await;
    assert_eq!(done["status"], "succeeded");
    let logs = format!("{BASE}/{}/logs", d.api);
    let logged = eventually(Duration::from_secs(5), || async {
        app.get(&logs, &d.owner)
            .await
            .body
            .as_array()
            .is_some_and(|l| l.len() == 1)
    })
    .await;
    assert!(logged, "{:?}", app.get(&logs, &d.owner).await);
    assert_eq!(app.get(&logs, &d.owner).await.body[0]["status"], 200);
}

#[tokio::test]
async fn a_failing_model_server_is_retried_until_it_answers() {
    let app = app(3).await;
    let (url, calls) = model_server(2, StatusCode::SERVICE_UNAVAILABLE).await;
    let d = deploy(&app, "async", "restricted", &url).await;
    let id = prediction_id(&submit(&app, &d, Auth::Bearer(&d.token)).await);
    let done = finished(&app, &d, &id, Auth::Bearer(&d.token)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["product"], 42.0);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_model_server_down_for_good_fails_the_prediction_after_the_last_attempt() {
    let app = app(2).await;
    let (url, calls) = model_server(usize::MAX, StatusCode::BAD_GATEWAY).await;
    let d = deploy(&app, "async", "unrestricted", &url).await;
    let id = prediction_id(&submit(&app, &d, Auth::None).await);
    let done = finished(&app, &d, &id, Auth::None).await;
    assert_eq!(done["status"], "failed", "{done}");
    let errors = done["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{done}");
    assert!(
        errors[1]
            .as_str()
            .unwrap()
            .contains("gave up after 2 attempts")
    );
    assert!(done.get("result").is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Nothing listening at all: the same, through connection errors.
    let gone = deploy(&app, "async", "unrestricted", "http://127.0.0.1:9").await;
    let id = prediction_id(&submit(&app, &gone, Auth::None).await);
    let done = finished(&app, &gone, &id, Auth::None).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["errors"][0]
            .as_str()
            .unwrap()
            .contains("cannot be reached")
    );
}

#[tokio::test]
async fn a_refusal_by_the_model_fails_the_prediction_without_retrying() {
    let app = app(3).await;
    let (url, calls) = model_server(usize::MAX, StatusCode::UNPROCESSABLE_ENTITY).await;
    let d = deploy(&app, "async", "unrestricted", &url).await;
    let id = prediction_id(&submit(&app, &d, Auth::None).await);
    let done = finished(&app, &d, &id, Auth::None).await;
    assert_eq!(done["status"], "failed");
    let error = done["errors"][0].as_str().unwrap();
    assert!(
        error.contains("422") && error.contains("model says no"),
        "{error}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn wrong_kinds_unknown_ids_bad_bodies_and_large_payloads_are_named() {
    let app = app(3).await;
    let (url, _) = model_server(0, StatusCode::OK).await;
    let sync = deploy(&app, "sync", "unrestricted", &url).await;
    let asynchronous = deploy(&app, "async", "unrestricted", &url).await;

    let wrong = submit(&app, &sync, Auth::None).await;
    wrong.assert_status(400).assert_envelope();
    assert!(wrong.error().contains("/models/"), "{wrong:?}");
    let wrong = app
        .send(
            Method::POST,
            &format!("/models/{}/latest/model", asynchronous.api),
            Auth::None,
            Some(json!({ "data": {} })),
        )
        .await;
    wrong.assert_status(400);
    assert!(
        wrong.error().contains("/api/modelApis/async/v1/"),
        "{wrong:?}"
    );

    // Unknown prediction, and a prediction asked for under another model API.
    let id = prediction_id(&submit(&app, &asynchronous, Auth::None).await);
    poll(
        &app,
        &asynchronous,
        "00000000-0000-0000-0000-000000000000",
        Auth::None,
    )
    .await
    .assert_status(404);
    poll(&app, &asynchronous, "not-an-id", Auth::None)
        .await
        .assert_status(404);
    let other = deploy(&app, "async", "unrestricted", &url).await;
    poll(&app, &other, &id, Auth::None).await.assert_status(404);
    app.send(
        Method::POST,
        &format!("{ASYNC}/00000000-0000-0000-0000-000000000000"),
        Auth::None,
        Some(json!({ "parameters": {} })),
    )
    .await
    .assert_status(404);

    for body in [
        json!({ "data": { "x": 1 } }),
        json!({ "parameters": [1, 2] }),
    ] {
        let bad = app
            .send(
                Method::POST,
                &format!("{ASYNC}/{}", asynchronous.api),
                Auth::None,
                Some(body),
            )
            .await;
        bad.assert_status(400);
        assert!(bad.error().contains("parameters"), "{bad:?}");
    }

    // Over the 4 KiB body limit of this app, for both styles.
    let big = json!({ "parameters": { "x": "a".repeat(8192) }, "data": { "x": "a".repeat(8192) } });
    for path in [
        format!("{ASYNC}/{}", asynchronous.api),
        format!("/models/{}/latest/model", sync.api),
    ] {
        app.send(Method::POST, &path, Auth::None, Some(big.clone()))
            .await
            .assert_status(413)
            .assert_envelope();
    }
}

#[tokio::test]
async fn a_model_api_without_an_active_version_says_so() {
    let app = app(3).await;
    let (_, owner) = app.user_with_token("owner", &[]).await;
    let project = app.create_project(&owner, "p").await;
    let api = app
        .post(BASE, &owner, json!({ "name": "empty", "projectId": project, "kind": "async", "visibility": "public", "authorization": "unrestricted" }))
        .await;
    let api = api.assert_status(201).body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = app
        .send(
            Method::POST,
            &format!("{ASYNC}/{api}"),
            Auth::None,
            Some(json!({ "parameters": {} })),
        )
        .await;
    refused.assert_status(409).assert_envelope();
    assert!(refused.error().contains("no active version"), "{refused:?}");
}

#[tokio::test]
async fn sync_failures_of_the_model_server_are_named_and_logged() {
    let app = spawn_app_with(|c| c.sync_timeout = Duration::from_secs(1)).await;
    let call = |api: String| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                &format!("/models/{api}/latest/model"),
                Auth::None,
                Some(json!({ "data": { "x": 1 } })),
            )
            .await
        }
    };
    // The model refuses the input: the caller's 400, with the model's message.
    let (url, _) = model_server(usize::MAX, StatusCode::UNPROCESSABLE_ENTITY).await;
    let refusing = deploy(&app, "sync", "unrestricted", &url).await;
    let reply = call(refusing.api.clone()).await;
    reply.assert_status(400).assert_envelope();
    assert!(reply.error().contains("model says no"), "{reply:?}");
    // The model server fails: 502.
    let (url, _) = model_server(usize::MAX, StatusCode::INTERNAL_SERVER_ERROR).await;
    let failing = deploy(&app, "sync", "unrestricted", &url).await;
    call(failing.api.clone())
        .await
        .assert_status(502)
        .assert_envelope();
    // Nothing listens: 502.
    let gone = deploy(&app, "sync", "unrestricted", "http://127.0.0.1:9").await;
    let reply = call(gone.api.clone()).await;
    reply.assert_status(502).assert_envelope();
    assert!(reply.error().contains("cannot be reached"), "{reply:?}");
    // It accepts but never answers: 504 after the configured second.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let slow = deploy(&app, "sync", "unrestricted", &silent_url).await;
    let reply = call(slow.api.clone()).await;
    reply.assert_status(504).assert_envelope();
    // Each was logged with what the caller got.
    for (d, status) in [
        (&refusing, 400),
        (&failing, 502),
        (&gone, 502),
        (&slow, 504),
    ] {
        let logs = format!("{BASE}/{}/logs", d.api);
        let logged = eventually(Duration::from_secs(5), || async {
            app.get(&logs, &d.owner).await.body[0]["status"] == status
        })
        .await;
        assert!(logged, "{status}: {:?}", app.get(&logs, &d.owner).await);
    }
}
