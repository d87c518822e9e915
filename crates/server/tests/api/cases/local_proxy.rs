//! The local API proxy in front of a real Tessera: lazy single acquisition, forwarding with the
//! JWT, background refresh, token-file rotation, clear errors.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tessera_server::local_proxy::{CredentialSource, LocalProxy, ProxyConfig};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::cases::realm::verify_with_jwks;

pub async fn proxy(host: &str, credential: CredentialSource) -> (Arc<LocalProxy>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let proxy = LocalProxy::new(ProxyConfig {
        listen: address,
        host: host.to_string(),
        realm: "DominoRealm".into(),
        credential,
    });
    let serving = proxy.clone();
    tokio::spawn(async move { serving.serve(listener, std::future::pending()).await });
    (proxy, format!("http://{address}"))
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_token_is_acquired_once_at_the_first_request_and_injected() {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let (proxy, url) = proxy(&app.address, CredentialSource::Value(pat.clone())).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(proxy.exchanges(), 0, "acquired at start");

    let target = format!("{url}/v4/users/self");
    let replies = futures::future::join_all((0..16).map(|_| get(&target))).await;
    for (status, body) in &replies {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(body).unwrap()["userName"],
            "jane"
        );
    }
    assert_eq!(
        proxy.exchanges(),
        1,
        "concurrent first requests made more than one exchange"
    );

    let (status, jwt) = get(&format!("{url}/access-token")).await;
    assert_eq!(status, 200);
    assert_eq!(
        verify_with_jwks(&app, &jwt).await["preferred_username"],
        "jane"
    );
    assert_eq!(proxy.exchanges(), 1);
}

#[tokio::test]
async fn the_token_is_refreshed_in_the_background_before_it_expires() {
    let app = spawn_app_with(|c| c.realm.lifetime_secs = 10).await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    // Due for refresh with a fifth of its 10 s left: 8 s after the first exchange.
    let (proxy, url) = proxy(&app.address, CredentialSource::Value(pat)).await;
    let (_, first) = get(&format!("{url}/access-token")).await;
    tokio::time::sleep(Duration::from_millis(8200)).await;
    // This request is served with the current token at once and starts a refresh.
    let (status, same) = get(&format!("{url}/access-token")).await;
    assert_eq!((status, same.as_str()), (200, first.as_str()));
    let refreshed = crate::helpers::eventually(Duration::from_secs(3), || async {
        get(&format!("{url}/access-token")).await.1 != first
    })
    .await;
    assert!(refreshed, "no background refresh");
    assert!(proxy.exchanges() >= 2);
}

#[tokio::test]
async fn a_rotated_token_file_is_picked_up_and_a_jwt_in_it_is_used_as_it_is() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, john) = app.user_with_token("john", &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{jane}\n")).unwrap();
    let (_, url) = proxy(&app.address, CredentialSource::File(file.clone())).await;
    let me = |u: String| async move {
        serde_json::from_str::<Value>(&get(&format!("{u}/v4/users/self")).await.1).unwrap()["userName"].clone()
    };
    assert_eq!(me(url.clone()).await, "jane");

    std::fs::write(&file, format!("{john}\n")).unwrap();
    assert_eq!(me(url.clone()).await, "john");

    let jwt = get(&format!("{url}/access-token")).await.1;
    std::fs::write(&file, &jwt).unwrap();
    assert_eq!(get(&format!("{url}/access-token")).await.1, jwt);
    assert_eq!(me(url).await, "john");
}

async fn error_of(url: &str) -> (u16, String) {
    let (status, body) = get(url).await;
    let message = serde_json::from_str::<Value>(&body).unwrap()["errors"][0]
        .as_str()
        .unwrap()
        .to_string();
    (status, message)
}

#[tokio::test]
async fn unreachable_hosts_refused_and_missing_credentials_are_explained() {
    let app: TestApp = spawn_app().await;
    let (_, url) = proxy(
        "http://127.0.0.1:1",
        CredentialSource::Value("tpat_x".into()),
    )
    .await;
    let (status, message) = error_of(&format!("{url}/v4/users/self")).await;
    assert_eq!(status, 502);
    assert!(
        message.contains("cannot reach DOMINO_API_HOST"),
        "{message}"
    );

    let (_, url) = proxy(&app.address, CredentialSource::Value("tpat_wrong".into())).await;
    let (status, message) = error_of(&format!("{url}/v4/users/self")).await;
    assert_eq!(status, 401);
    assert!(message.contains("refused"), "{message}");

    let (_, url) = proxy(
        &app.address,
        CredentialSource::File("/nonexistent/token".into()),
    )
    .await;
    let (status, message) = error_of(&format!("{url}/access-token")).await;
    assert_eq!(status, 503);
    assert!(message.contains("DOMINO_TOKEN_FILE"), "{message}");
}

#[tokio::test]
async fn after_its_pat_is_revoked_the_proxy_hands_out_no_dead_token() {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let (_, url) = proxy(&app.address, CredentialSource::Value(pat.clone())).await;
    assert_eq!(get(&format!("{url}/v4/users/self")).await.0, 200);
    let (status, before) = get(&format!("{url}/access-token")).await;
    assert_eq!(status, 200);
    app.post_empty("/api/pat/v1/tokens/invalidate", &pat)
        .await
        .assert_status(200);
    // The derived JWT dies with its source: Tessera refuses the proxied call...
    assert_eq!(get(&format!("{url}/v4/users/self")).await.0, 401);
    // ...and the proxy no longer offers that token, nor gets a new one.
    let (status, after) = get(&format!("{url}/access-token")).await;
    assert_eq!(status, 401, "{after}");
    assert_ne!(after, before);
}
