//! Model servers only where `[models] allowed_upstreams` allows (SPEC section 6), with real
//! model servers on real ports: allowed upstreams deploy and answer; every trick spelling is a
//! 400 naming `upstreamUrl`; a name is checked again once resolved, at connect time; versions
//! already in the database outside the list are refused at invocation, sync and async, never
//! connected to; redirects are not followed; only owners and editors see upstream URLs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::audit::{AuditActor, AuditEntry};
use tessera_core::ids::ModelApiId;
use tessera_core::names::UserName;
use tessera_core::upstreams::AllowedUpstreams;

use crate::cases::ui::{Browser, user_with_password};
use crate::helpers::{Auth, Reply, TestApp, spawn_app_with};

const BASE: &str = "/api/modelServing/v1/modelApis";
const ASYNC: &str = "/api/modelApis/async/v1";

/// A model server on 127.0.0.1 answering `{"served": true}`; counts the calls it gets.
struct ModelServer {
    port: u16,
    calls: Arc<AtomicUsize>,
}

impl ModelServer {
    async fn start() -> ModelServer {
        ModelServer::with(axum::routing::any(|| async {
            Json(json!({ "served": true }))
        }))
        .await
    }

    async fn with(handler: axum::routing::MethodRouter) -> ModelServer {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let app = axum::Router::new()
            .fallback_service(handler)
            .layer(axum::middleware::from_fn(
                move |request, next: axum::middleware::Next| {
                    seen.fetch_add(1, Ordering::SeqCst);
                    async move { next.run(request).await }
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        ModelServer { port, calls }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn app_allowing(rules: &[&str]) -> TestApp {
    let allowed = AllowedUpstreams::parse(rules).unwrap();
    spawn_app_with(move |c| {
        c.allowed_upstreams = allowed;
        c.predictions.backoff = Duration::from_millis(50);
        c.predictions.poll = Duration::from_millis(50);
    })
    .await
}

/// An unrestricted model API of `kind` owned by a new user "owner" (password
/// "owner-password-1"); (id, owner's token).
async fn model(app: &TestApp, kind: &str, visibility: &str) -> (String, String) {
    let name = UserName::parse("owner", "owner").unwrap();
    if app
        .state
        .store
        .principal_by_name(&name)
        .await
        .unwrap()
        .is_none()
    {
        user_with_password(app, "owner", "owner-password-1").await;
    }
    let owner = crate::helpers::operator_token(&app.state, "owner", &format!("t{}", next())).await;
    let project = app
        .post(
            "/v4/projects",
            &owner,
            json!({ "name": format!("p{}", next()) }),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let created = app
        .post(BASE, &owner, json!({ "name": "m", "projectId": project, "kind": kind, "visibility": visibility, "authorization": "unrestricted" }))
        .await;
    created.assert_status(201);
    (created.body["id"].as_str().unwrap().to_string(), owner)
}

fn next() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

async fn deploy(app: &TestApp, id: &str, owner: &str, url: &str) -> Reply {
    app.post(
        &format!("{BASE}/{id}/versions"),
        owner,
        json!({ "upstreamUrl": url }),
    )
    .await
}

async fn invoke(app: &TestApp, id: &str) -> Reply {
    app.send(
        Method::POST,
        &format!("/models/{id}/latest/model"),
        Auth::None,
        Some(json!({ "data": {} })),
    )
    .await
}

/// A version written to the database directly, as one deployed before the list existed.
async fn legacy_version(app: &TestApp, id: &str, url: &str) {
    let id = ModelApiId::parse(id).unwrap();
    let now = chrono::Utc::now();
    let audit = AuditEntry::new(
        &AuditActor::system(),
        now,
        "test.legacy-version",
        "model_api",
    );
    app.state
        .store
        .insert_version(id, url, "", now, &audit)
        .await
        .unwrap();
    app.state.serving.evict(id);
}

#[track_caller]
fn assert_names_the_setting(reply: &Reply) {
    reply.assert_status(400).assert_envelope();
    let message = reply.error();
    assert!(message.starts_with("upstreamUrl: "), "{message}");
    assert!(message.contains("allowed_upstreams"), "{message}");
}

#[tokio::test]
async fn an_allowed_upstream_deploys_and_answers_and_any_other_is_refused_naming_the_setting() {
    let server = ModelServer::start().await;
    let other = ModelServer::start().await;
    let app = app_allowing(&[&server.url()]).await;
    let (id, owner) = model(&app, "sync", "private").await;

    let refused = deploy(&app, &id, &owner, &other.url()).await;
    assert_names_the_setting(&refused);
    assert!(refused.error().contains(&other.url()), "{refused:?}");

    deploy(&app, &id, &owner, &format!("{}/", server.url()))
        .await
        .assert_status(201);
    let answer = invoke(&app, &id).await;
    answer.assert_status(200);
    assert_eq!(answer.body["result"], json!({ "served": true }));
    assert_eq!((server.calls(), other.calls()), (1, 0));
    let versions = app.get(&format!("{BASE}/{id}/versions"), &owner).await;
    assert_eq!(versions.body.as_array().unwrap().len(), 1, "{versions:?}");
    assert_eq!(versions.body[0]["upstreamUrl"], server.url());
}

#[tokio::test]
async fn with_no_list_no_version_is_deployed_and_the_refusal_says_how_to_allow_one() {
    let server = ModelServer::start().await;
    let app = spawn_app_with(|c| c.allowed_upstreams = AllowedUpstreams::default()).await;
    let (id, owner) = model(&app, "sync", "private").await;
    let refused = deploy(&app, &id, &owner, &server.url()).await;
    assert_names_the_setting(&refused);
    assert!(
        refused.error().contains("TESSERA_MODELS_ALLOWED_UPSTREAMS"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn every_trick_spelling_of_an_upstream_is_refused_naming_the_field() {
    let app = app_allowing(&["http://0.0.0.0/0", "http://localhost", "http://*.internal"]).await;
    let (id, owner) = model(&app, "sync", "private").await;
    for url in [
        "http://localhost@evil.example",
        "http://127.0.0.1:9100@evil.example",
        "http://evil.example#@localhost",
        "http://localhost:9100?next=http://evil.example",
        "http://localhost:9100/#x",
        "http://%6c%6f%63%61%6c%68%6f%73%74:9100",
        "http://127.0.0.1%2f@evil",
        "http://0x7f.1:9100",
        "http://0x7f000001:9100",
        "http://2130706433:9100",
        "http://0177.0.0.1:9100",
        "http://127.1:9100",
        "http://[::ffff:127.0.0.1]:9100",
        "http://[::ffff:7f00:1]:9100",
        "http://localhost.:9100",
        "http://127.0.0.1.:9100",
        "http://m.internal.:9100",
        "HTTP://127.0.0.1:9100",
        "http://LOCALHOST:9100",
        "http://127.0.0.1:9100/../../admin",
        "http://127.0.0.1:9100//x",
        "ftp://127.0.0.1:21",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_x",
        "ws://127.0.0.1:9100",
        "127.0.0.1:9100",
        "http://127.0.0.1:0",
        "http://127.0.0.1:65536",
        "http://127.0.0.1:-1",
        "http://127.0.0.1:",
        "http://127.0.0.1 :9100",
        "http://169.254.169.254/latest/meta-data",
        "http://169.254.169.254:80",
        "http://[fe80::1]:9100",
        "http://0.0.0.0:9100",
    ] {
        let refused = deploy(&app, &id, &owner, url).await;
        refused.assert_status(400).assert_envelope();
        assert!(
            refused.error().starts_with("upstreamUrl: "),
            "{url}: {refused:?}"
        );
    }
    let link_local = deploy(&app, &id, &owner, "http://169.254.169.254").await;
    assert!(link_local.error().contains("link-local"), "{link_local:?}");
    let versions = app.get(&format!("{BASE}/{id}/versions"), &owner).await;
    assert_eq!(versions.body, json!([]));
    // Their neighbours, spelled plainly, are allowed.
    for url in [
        "http://localhost:9100",
        "http://127.0.0.1:9100/predict",
        "http://m.internal:9100",
    ] {
        deploy(&app, &id, &owner, url).await.assert_status(201);
    }
}

#[tokio::test]
async fn a_name_allowed_by_name_is_refused_at_connect_time_when_its_address_is_not_listed() {
    let server = ModelServer::start().await;
    let by_name = app_allowing(&["http://localhost"]).await;
    let (id, owner) = model(&by_name, "sync", "private").await;
    let url = format!("http://localhost:{}", server.port);
    deploy(&by_name, &id, &owner, &url).await.assert_status(201);
    let refused = invoke(&by_name, &id).await;
    refused.assert_status(502).assert_envelope();
    assert!(refused.error().contains("allowed_upstreams"), "{refused:?}");
    assert!(refused.error().contains("resolved"), "{refused:?}");
    assert!(!refused.error().contains("127.0.0.1"), "{refused:?}");
    assert_eq!(server.calls(), 0, "connected to an address no rule allows");

    let with_range = app_allowing(&["http://localhost", "http://127.0.0.0/8"]).await;
    let (id, owner) = model(&with_range, "sync", "private").await;
    deploy(&with_range, &id, &owner, &url)
        .await
        .assert_status(201);
    invoke(&with_range, &id).await.assert_status(200);
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn versions_outside_the_list_are_refused_at_invocation_and_never_connected_to() {
    let server = ModelServer::start().await;
    let app = app_allowing(&["http://127.0.0.1:1"]).await;
    let (sync_id, _) = model(&app, "sync", "private").await;
    legacy_version(&app, &sync_id, &server.url()).await;
    let refused = invoke(&app, &sync_id).await;
    refused.assert_status(502).assert_envelope();
    assert!(refused.error().contains("allowed_upstreams"), "{refused:?}");
    assert!(!refused.error().contains(&server.url()), "{refused:?}");

    let (tricky_id, _) = model(&app, "sync", "private").await;
    legacy_version(&app, &tricky_id, &format!("http://0x7f.1:{}", server.port)).await;
    invoke(&app, &tricky_id).await.assert_status(502);

    let (async_id, _) = model(&app, "async", "private").await;
    legacy_version(&app, &async_id, &server.url()).await;
    let accepted = app
        .send(
            Method::POST,
            &format!("{ASYNC}/{async_id}"),
            Auth::None,
            Some(json!({ "parameters": {} })),
        )
        .await;
    accepted.assert_status(200);
    let prediction = accepted.body["asyncPredictionId"].as_str().unwrap();
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app
            .send(
                Method::GET,
                &format!("{ASYNC}/{async_id}/{prediction}"),
                Auth::None,
                None,
            )
            .await
            .body;
        if status["status"] == "failed" || status["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["status"], "failed", "{status}");
    let errors = status["errors"].to_string();
    assert!(errors.contains("allowed_upstreams"), "{status}");
    assert_eq!(
        status["errors"].as_array().map(Vec::len),
        Some(1),
        "retried: {status}"
    );
    assert_eq!(server.calls(), 0, "a version outside the list was called");
}

#[tokio::test]
async fn a_redirect_from_the_model_server_is_not_followed() {
    let target = ModelServer::start().await;
    let location = target.url();
    let redirecting = ModelServer::with(axum::routing::any(move || {
        let location = location.clone();
        async move {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response()
        }
    }))
    .await;
    let app = app_allowing(&["http://127.0.0.1"]).await;
    let (id, owner) = model(&app, "sync", "private").await;
    deploy(&app, &id, &owner, &redirecting.url())
        .await
        .assert_status(201);
    let answer = invoke(&app, &id).await;
    answer.assert_status(502).assert_envelope();
    assert!(answer.error().contains("307"), "{answer:?}");
    assert_eq!((redirecting.calls(), target.calls()), (1, 0));
}

#[tokio::test]
async fn only_owners_editors_and_admins_see_upstream_urls_in_the_api_and_the_ui() {
    let server = ModelServer::start().await;
    let app = app_allowing(&["http://127.0.0.1"]).await;
    let (id, owner) = model(&app, "sync", "private").await;
    deploy(&app, &id, &owner, &server.url())
        .await
        .assert_status(201);
    user_with_password(&app, "ed", "ed-password-123").await;
    user_with_password(&app, "vic", "vic-password-12").await;
    user_with_password(&app, "stranger", "stranger-pass-1").await;
    for (user, role) in [("ed", "editor"), ("vic", "viewer")] {
        app.share_model_api(&owner, &id, json!({ "userName": user, "role": role }))
            .await
            .assert_status(201);
    }
    let token = |user: &'static str| {
        let state = app.state.clone();
        async move { crate::helpers::operator_token(&state, user, "t").await }
    };
    let sees = |reply: Reply| {
        reply.assert_status(200);
        let version = &reply.body[0];
        assert_eq!(version["number"], 1, "{reply:?}");
        version.get("upstreamUrl").cloned()
    };
    let path = format!("{BASE}/{id}/versions");
    let url = json!(server.url());
    assert_eq!(sees(app.get(&path, &owner).await), Some(url.clone()));
    assert_eq!(
        sees(app.get(&path, &token("ed").await).await),
        Some(url.clone())
    );
    assert_eq!(sees(app.admin_get(&path).await), Some(url.clone()));
    let vic = token("vic").await;
    assert_eq!(sees(app.get(&path, &vic).await), None);
    app.set_model_visibility(&owner, &id, "public")
        .await
        .assert_status(200);
    assert_eq!(sees(app.get(&path, &token("stranger").await).await), None);
    assert_eq!(sees(app.get(&path, &vic).await), None);

    let address = format!("127.0.0.1:{}", server.port);
    for (user, password, shown) in [
        ("ed", "ed-password-123", true),
        ("vic", "vic-password-12", false),
        ("stranger", "stranger-pass-1", false),
    ] {
        let mut browser = Browser::new(&app);
        browser.login(user, password).await;
        let page = browser.get(&format!("/ui/models/{id}")).await;
        assert_eq!(page.status, 200, "{user}");
        assert!(page.html.contains("data-version=\"1\""), "{user}");
        assert_eq!(page.html.contains(&address), shown, "{user}");
        assert_eq!(page.html.contains("Model server</th>"), shown, "{user}");
    }
}

#[tokio::test]
async fn the_web_form_refuses_an_upstream_outside_the_list_naming_the_setting() {
    let server = ModelServer::start().await;
    let app = app_allowing(&[&server.url()]).await;
    let (id, _) = model(&app, "sync", "private").await;
    let mut owner = Browser::new(&app);
    owner.login("owner", "owner-password-1").await;
    let csrf = owner.csrf().await;
    for url in [
        "http://127.0.0.1:1",
        "http://user@127.0.0.1:1",
        "http://2130706433:1",
    ] {
        let refused = owner
            .post(
                &format!("/ui/models/{id}/versions"),
                &[("csrf", &csrf), ("upstream_url", url)],
            )
            .await;
        assert_eq!(refused.status, 400, "{url}");
        assert!(refused.html.contains("id=\"upstream-error\""), "{url}");
    }
    let refused = owner
        .post(
            &format!("/ui/models/{id}/versions"),
            &[("csrf", &csrf), ("upstream_url", "http://127.0.0.1:1")],
        )
        .await;
    assert!(
        refused.html.contains("allowed_upstreams"),
        "{}",
        refused.html
    );
    let deployed = owner
        .post(
            &format!("/ui/models/{id}/versions"),
            &[("csrf", &csrf), ("upstream_url", &server.url())],
        )
        .await;
    assert_eq!(deployed.status, 303);
}
