//! The gateway and sync invocation are served by the front without the router (issue #16); what
//! the router's layers did for them still applies: the request id and the envelope, the
//! metrics, load shedding, the client address behind trusted proxies (and the throttle that
//! counts by it), the API key's deprecation headers.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_server::client_addr::TrustedProxies;
use tessera_server::config::GatewayRoute;

use crate::cases::gateway::upstream;
use crate::helpers::{Auth, Reply, TestApp, spawn_app_with};

const BASE: &str = "/api/modelServing/v1/modelApis";

/// A restricted sync model API deployed on a model server answering `{"ok": true}`; its id and
/// an access token.
async fn restricted_model(app: &TestApp) -> (String, String) {
    let model = axum::Router::new().route(
        "/",
        axum::routing::post(|| async { axum::Json(json!({ "ok": true })) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, model).await });
    let owner = &app.admin_token;
    let project = app.create_project(owner, "front").await;
    let api = app
        .post(BASE, owner, json!({ "name": "m", "projectId": project, "kind": "sync", "visibility": "private", "authorization": "restricted" }))
        .await;
    api.assert_status(201);
    let id = api.body["id"].as_str().unwrap().to_string();
    app.post(
        &format!("{BASE}/{id}/versions"),
        owner,
        json!({ "upstreamUrl": url }),
    )
    .await
    .assert_status(201);
    let token = app
        .post(
            &format!("{BASE}/{id}/accessTokens"),
            owner,
            json!({ "name": "c" }),
        )
        .await;
    token.assert_status(201);
    (id, token.body["token"].as_str().unwrap().to_string())
}

/// `method path` with `headers`, as a client behind a proxy sends it.
async fn send_with(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = app.client.request(method, format!("{}{path}", app.address));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .json(&json!({ "data": {} }))
        .send()
        .await
        .expect("request failed");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn counted(app: &TestApp, route: &str) -> u64 {
    let text = app.state.metrics.render(0);
    let line = format!("tessera_http_request_duration_seconds_count{{route=\"{route}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .map_or(0, |n| n.trim().parse().unwrap())
}

#[tokio::test]
async fn forwarded_requests_and_invocations_get_request_ids_envelopes_metrics_and_deprecation() {
    let up = upstream().await;
    let route = GatewayRoute::new("/api/jobs/", &up.url, Duration::from_secs(5)).unwrap();
    let app = spawn_app_with(move |c| c.gateway_routes = vec![route]).await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let key = app.regenerate_api_key(&pat).await;
    let (model, token) = restricted_model(&app).await;
    let (gateway_before, invocation_before) =
        (counted(&app, "gateway"), counted(&app, "invocation"));

    let ok = app.get("/api/jobs/v1/jobs", &pat).await;
    ok.assert_status(200);
    let id = ok.header("x-request-id").expect("a request id");
    assert_eq!(
        ok.body["headers"]["x-request-id"], id,
        "the upstream got another id"
    );
    assert!(
        ok.header("deprecation").is_none(),
        "a PAT is not deprecated"
    );
    let by_key = app
        .send(Method::GET, "/api/jobs/v1/jobs", Auth::ApiKey(&key), None)
        .await;
    by_key.assert_status(200);
    assert_eq!(by_key.header("deprecation"), Some("true"));
    assert!(
        by_key
            .header("link")
            .is_some_and(|l| l.contains("rel=\"deprecation\""))
    );
    // Refusals are the envelope with the response's request id.
    app.send(Method::GET, "/api/jobs/v1/jobs", Auth::None, None)
        .await
        .assert_status(401)
        .assert_envelope();
    app.get("/api/jobs/v1/jobs", "tpat_wrong")
        .await
        .assert_status(401)
        .assert_envelope();

    let path = format!("/models/{model}/latest/model");
    let called = app
        .send(
            Method::POST,
            &path,
            Auth::Basic(&token, &token),
            Some(json!({ "data": {} })),
        )
        .await;
    called.assert_status(200);
    assert_eq!(
        called.header("x-request-id"),
        called.body["request_id"].as_str()
    );
    assert_eq!(called.header("access-control-allow-origin"), Some("*"));
    app.send(
        Method::POST,
        &path,
        Auth::Basic("tmat_x", "tmat_x"),
        Some(json!({ "data": {} })),
    )
    .await
    .assert_status(401)
    .assert_envelope();
    app.send(
        Method::POST,
        &path,
        Auth::Basic(&token, &token),
        Some(json!({ "nothing": 1 })),
    )
    .await
    .assert_status(400)
    .assert_envelope();

    assert_eq!(counted(&app, "gateway"), gateway_before + 4);
    assert_eq!(counted(&app, "invocation"), invocation_before + 3);
}

#[tokio::test]
async fn forwarded_requests_and_invocations_are_shed_past_the_concurrency_limit() {
    let up = upstream().await;
    let route = GatewayRoute::new("/api/jobs/", &up.url, Duration::from_secs(10)).unwrap();
    let app = spawn_app_with(move |c| {
        c.gateway_routes = vec![route];
        c.concurrency = 1;
    })
    .await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let (model, token) = restricted_model(&app).await;
    // `/slow` holds the only permit for three seconds.
    let held = {
        let (client, url, pat) = (
            app.client.clone(),
            format!("{}/api/jobs/slow", app.address),
            pat.clone(),
        );
        tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(pat)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let reached = crate::helpers::eventually(Duration::from_secs(5), || async {
        up.hits.load(std::sync::atomic::Ordering::SeqCst) == 1
    })
    .await;
    assert!(reached, "the slow request never reached the upstream");

    let path = format!("/models/{model}/latest/model");
    for shed in [
        app.get("/api/jobs/v1/jobs", &pat).await,
        app.send(
            Method::POST,
            &path,
            Auth::Basic(&token, &token),
            Some(json!({ "data": {} })),
        )
        .await,
    ] {
        shed.assert_status(503).assert_envelope();
        assert_eq!(shed.header("retry-after"), Some("1"), "{shed:?}");
    }
    app.send(Method::GET, "/healthz", Auth::None, None)
        .await
        .assert_status(200);
    assert_eq!(held.await.unwrap().as_u16(), 200);
    app.get("/api/jobs/v1/jobs", &pat).await.assert_status(200);
    app.send(
        Method::POST,
        &path,
        Auth::Basic(&token, &token),
        Some(json!({ "data": {} })),
    )
    .await
    .assert_status(200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_throttle_counts_the_forwarded_client_on_both_paths() {
    let up = upstream().await;
    let route = GatewayRoute::new("/api/jobs/", &up.url, Duration::from_secs(5)).unwrap();
    let app = spawn_app_with(move |c| {
        c.gateway_routes = vec![route];
        c.trusted_proxies = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
        c.throttle.max_failures = 3;
    })
    .await;
    let (model, token) = restricted_model(&app).await;
    let path = format!("/models/{model}/latest/model");
    let wrong = "Bearer tpat_wrong";
    let from = |client: &'static str, auth: &'static str| {
        [("x-forwarded-for", client), ("authorization", auth)]
    };
    // Three failures through the gateway from one client behind the proxy...
    for _ in 0..3 {
        send_with(
            &app,
            Method::GET,
            "/api/jobs/x",
            &from("203.0.113.5", wrong),
        )
        .await
        .assert_status(401);
    }
    // ...and that client is over the limit on both paths; another one behind the same proxy
    // is not.
    send_with(
        &app,
        Method::GET,
        "/api/jobs/x",
        &from("203.0.113.5", wrong),
    )
    .await
    .assert_status(429)
    .assert_envelope();
    let bad_basic = "Basic dG1hdF94OnRtYXRfeA=="; // tmat_x:tmat_x
    send_with(&app, Method::POST, &path, &from("203.0.113.5", bad_basic))
        .await
        .assert_status(429)
        .assert_envelope();
    send_with(&app, Method::POST, &path, &from("203.0.113.6", bad_basic))
        .await
        .assert_status(401);
    send_with(
        &app,
        Method::GET,
        "/api/jobs/x",
        &from("203.0.113.6", wrong),
    )
    .await
    .assert_status(401);
    // A valid credential is never refused by the throttle.
    let good = app
        .send(
            Method::POST,
            &path,
            Auth::Basic(&token, &token),
            Some(json!({ "data": {} })),
        )
        .await;
    good.assert_status(200);
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::SeqCst), 0);
}
