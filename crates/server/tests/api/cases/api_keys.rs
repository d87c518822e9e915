//! The legacy API key: header and Basic forms, the deprecation signal, regeneration.

use reqwest::Method;

use crate::helpers::{Auth, spawn_app};

#[tokio::test]
async fn an_api_key_works_in_both_legacy_forms_and_is_marked_deprecated() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let created = app.post_empty("/api/apiKey/v1/regenerate", &jane).await;
    created.assert_status(201);
    let key = created.body["apiKey"].as_str().unwrap().to_string();
    assert!(key.starts_with("tkey_"));

    for auth in [Auth::ApiKey(&key), Auth::Basic("", &key)] {
        let reply = app.send(Method::GET, "/v4/users/self", auth, None).await;
        reply.assert_status(200);
        assert_eq!(reply.body["userName"], "jane");
        assert_eq!(reply.header("deprecation"), Some("true"));
        assert!(
            reply
                .header("link")
                .is_some_and(|l| l.contains("rel=\"deprecation\"")),
            "{:?}",
            reply.header("link")
        );
    }
    let with_pat = app.get("/v4/users/self", &jane).await;
    assert!(with_pat.header("deprecation").is_none());
}

#[tokio::test]
async fn regenerating_stops_the_previous_key_at_once() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let first = app.regenerate_api_key(&jane).await;
    app.assert_whoami(Auth::ApiKey(&first), 200).await;
    let second = app.regenerate_api_key(&jane).await;
    assert_ne!(first, second);
    app.assert_whoami(Auth::ApiKey(&first), 401).await;
    app.assert_whoami(Auth::ApiKey(&second), 200).await;
}

#[tokio::test]
async fn each_secret_kind_is_accepted_only_in_its_own_place() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let key = app.regenerate_api_key(&jane).await;
    app.assert_whoami(Auth::Bearer(&key), 401).await;
    app.assert_whoami(Auth::ApiKey(&jane), 401).await;
    app.assert_whoami(Auth::Basic("jane", &key), 401).await;
    app.assert_whoami(Auth::Basic(&key, &key), 401).await;
    app.assert_whoami(Auth::Raw("Basic !!!notbase64"), 401)
        .await;
    app.assert_whoami(Auth::Raw("Token abc"), 401).await;
}
