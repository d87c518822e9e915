//! Both serving modes of `[server] runtime` (issue #16) end to end: the gateway and sync model
//! invocation over many connections (spread by the kernel over the per-core listeners), the
//! refusals beside them, and a clean stop that lets an in-flight proxied request finish and
//! writes the last uses.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_server::config::GatewayRoute;
use tessera_server::runtime_mode::{RuntimeMode, ServerSettings};

use crate::cases::gateway::upstream;
use crate::cases::realm::verify_with_jwks;
use crate::helpers::{Auth, TestApp, eventually, spawn_app_with};

/// A model server answering `{"sum": a + b}`.
async fn model_server() -> String {
    let app = axum::Router::new().route(
        "/",
        post(|Json(input): Json<Value>| async move {
            let d = &input["data"];
            Json(json!({ "sum": d["a"].as_f64().unwrap_or(0.0) + d["b"].as_f64().unwrap_or(0.0) }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A restricted sync model API on a fresh model server: (its id, its access token).
async fn restricted_model(app: &TestApp, owner: &str) -> (String, String) {
    const BASE: &str = "/api/modelServing/v1/modelApis";
    let project = app
        .post("/v4/projects", owner, json!({ "name": "p" }))
        .await;
    let api = app
        .post(BASE, owner, json!({ "name": "adder", "projectId": project.body["id"], "kind": "sync", "visibility": "private", "authorization": "restricted" }))
        .await;
    api.assert_status(201);
    let api = api.body["id"].as_str().unwrap().to_string();
    app.deploy_model_version(owner, &api, &model_server().await)
        .await;
    let token = app.create_model_token(owner, &api, "client").await;
    (api, token.body["token"].as_str().unwrap().to_string())
}

/// A client that opens a new connection for every request, so that requests land on every
/// listener of the per-core mode.
fn fresh_connections() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn serves_forwards_and_drains(runtime: RuntimeMode) {
    let up = upstream().await;
    let route = GatewayRoute::new("/api/jobs/", &up.url, Duration::from_secs(10)).unwrap();
    let app = spawn_app_with(move |c| {
        c.gateway_routes = vec![route];
        c.server = ServerSettings {
            runtime,
            workers: 3,
        };
    })
    .await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let (api, model_token) = restricted_model(&app, &pat).await;
    let client = fresh_connections();

    // Allowed: 24 gateway calls and 24 invocations, each on its own connection, at once.
    let calls = (0..24).map(|i| {
        let (client, address, pat, api, model_token) = (
            client.clone(),
            app.address.clone(),
            pat.clone(),
            api.clone(),
            model_token.clone(),
        );
        async move {
            let forwarded = client
                .get(format!("{address}/api/jobs/v1/jobs/{i}"))
                .bearer_auth(&pat)
                .send()
                .await
                .unwrap();
            assert_eq!(forwarded.status(), 200);
            let seen: Value = forwarded.json().await.unwrap();
            assert_eq!(seen["path"], format!("/api/jobs/v1/jobs/{i}"));
            let invoked = client
                .post(format!("{address}/models/{api}/latest/model"))
                .basic_auth(&model_token, Some(&model_token))
                .json(&json!({ "data": { "a": i, "b": 1 } }))
                .send()
                .await
                .unwrap();
            assert_eq!(invoked.status(), 200);
            let answer: Value = invoked.json().await.unwrap();
            assert_eq!(answer["result"]["sum"], f64::from(i + 1));
            seen["headers"]["authorization"]
                .as_str()
                .unwrap()
                .to_string()
        }
    });
    let bearers = futures::future::join_all(calls).await;
    let jwt = bearers[0].strip_prefix("Bearer ").unwrap();
    assert_eq!(
        verify_with_jwks(&app, jwt).await["preferred_username"],
        "jane"
    );
    assert!(bearers.iter().all(|b| !b.contains(&pat)));
    assert_eq!(up.hits.load(Ordering::SeqCst), 24);

    // Refused: no credential at the gateway, a PAT as a model's token.
    app.send(Method::GET, "/api/jobs/v1/jobs", Auth::None, None)
        .await
        .assert_status(401)
        .assert_envelope();
    app.send(
        Method::POST,
        &format!("/models/{api}/latest/model"),
        Auth::Basic(&pat, &pat),
        Some(json!({ "data": { "a": 1, "b": 1 } })),
    )
    .await
    .assert_status(401);
    assert_eq!(up.hits.load(Ordering::SeqCst), 24);

    // A proxied request in flight when the stop comes is answered (the upstream takes 3 s),
    // its credential's last use is written, and no new connection is accepted.
    let used = app.create_pat(&pat, "in-flight", 3600).await;
    let used_id = tessera_core::ids::CredentialId::parse(used["patId"].as_str().unwrap()).unwrap();
    let slow = tokio::spawn({
        let (client, address) = (client.clone(), app.address.clone());
        let token = used["token"].as_str().unwrap().to_string();
        async move {
            client
                .get(format!("{address}/api/jobs/v1/slow"))
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    let hits = up.hits.clone();
    let arrived = eventually(Duration::from_secs(10), || {
        let hits = hits.clone();
        async move { hits.load(Ordering::SeqCst) == 25 }
    })
    .await;
    assert!(arrived, "the slow request never reached the upstream");
    let (database, address) = (app.database.clone(), app.address.clone());
    let _stopped = app.stop().await;
    assert_eq!(
        slow.await.unwrap().unwrap(),
        200,
        "the in-flight request was cut"
    );
    assert!(
        client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .is_err(),
        "a stopped server still accepts"
    );
    // Read over a connection of its own: the stopped server's pool may hold connections of
    // the per-core runtimes, which have ended.
    let last_used = crate::helpers::sql_at(
        &database,
        &format!("SELECT CAST(last_used_at AS TEXT) FROM credentials WHERE id = '{used_id}'"),
    )
    .await;
    assert_eq!(last_used.len(), 1, "last use lost on stop");
}

#[tokio::test]
async fn per_core_runtimes_serve_the_gateway_and_invocations_and_stop_cleanly() {
    serves_forwards_and_drains(RuntimeMode::PerCore).await;
}

#[tokio::test]
async fn the_multi_threaded_runtime_serves_the_gateway_and_invocations_and_stops_cleanly() {
    serves_forwards_and_drains(RuntimeMode::MultiThread).await;
}
