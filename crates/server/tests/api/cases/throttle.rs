//! Failed authentications are throttled per address; a valid credential held in memory never
//! is, and a secret that would need a store read is refused unread once the address is over the
//! limit (issue 19: a throttled address cannot make the database work).

use tessera_core::secret::{Secret, SecretKind};
use tessera_server::client_addr::TrustedProxies;

use crate::helpers::{Auth, TestApp, spawn_app_with};

#[tokio::test]
async fn repeated_failures_get_429_but_a_valid_credential_still_passes() {
    let app = spawn_app_with(|c| c.throttle.max_failures = 5).await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    // Jane's token is in memory before her address starts failing.
    app.assert_whoami(Auth::Bearer(&jane), 200).await;
    // Requests without any credential are not failures.
    for _ in 0..10 {
        app.assert_whoami(Auth::None, 401).await;
    }
    for _ in 0..5 {
        app.assert_whoami(Auth::Bearer("tpat_wrong"), 401).await;
    }
    let throttled = app.get("/v4/users/self", "tpat_wrong").await;
    throttled.assert_status(429).assert_envelope();
    let wait: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    app.assert_whoami(Auth::Bearer(&jane), 200).await;
    app.assert_whoami(Auth::ApiKey("tkey_wrong"), 429).await;
    app.assert_whoami(Auth::Bearer(&jane), 200).await;
}

/// A request from `address` (believed through `X-Forwarded-For`, the app trusting loopback).
async fn from(app: &TestApp, address: &str, auth: Auth<'_>) -> (u16, Option<String>) {
    let request = app
        .client
        .get(format!("{}/v4/users/self", app.address))
        .header("x-forwarded-for", address);
    let request = match auth {
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::ApiKey(key) => request.header("X-Domino-Api-Key", key),
        _ => request,
    };
    let reply = request.send().await.expect("request failed");
    let retry = reply
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (reply.status().as_u16(), retry)
}

fn unknown(kind: SecretKind) -> String {
    Secret::generate(kind).into_exposed()
}

/// SPEC section 9: the throttle never refuses a request that carries a valid credential, so a
/// throttled address's *new* secret is looked up once (it may be valid); what is refused is then
/// remembered, and presenting it again costs no read. A valid token never seen by this node is
/// served from the throttled address.
#[tokio::test]
async fn a_throttled_address_costs_one_read_per_new_secret_and_keeps_its_valid_credentials() {
    let app = spawn_app_with(|c| {
        c.throttle.max_failures = 4;
        c.trusted_proxies = TrustedProxies::parse(&["127.0.0.0/8"]).unwrap();
    })
    .await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let attacker = "198.51.100.7";
    let lookups = || app.state.authenticator.store_lookups();
    assert_eq!(from(&app, attacker, Auth::Bearer(&jane)).await.0, 200);
    let fresh = app.create_pat(&jane, "never-used", 3600).await;
    let fresh = fresh["token"].as_str().unwrap().to_string();

    for _ in 0..4 {
        let before = lookups();
        let (status, _) = from(&app, attacker, Auth::Bearer(&unknown(SecretKind::Pat))).await;
        assert_eq!(status, 401);
        assert_eq!(lookups(), before + 1, "an unknown secret was not looked up");
    }
    let (status, retry) = from(&app, attacker, Auth::Bearer(&unknown(SecretKind::Pat))).await;
    assert_eq!(status, 429, "the address was not throttled");
    assert!(retry.is_some());

    // Throttled: each new secret of every kind costs one read, then is remembered as refused.
    for kind in [
        SecretKind::Pat,
        SecretKind::ServiceAccountToken,
        SecretKind::ApiKey,
    ] {
        let secret = unknown(kind);
        let auth = || match kind {
            SecretKind::ApiKey => Auth::ApiKey(&secret),
            _ => Auth::Bearer(&secret),
        };
        let before = lookups();
        let (status, retry) = from(&app, attacker, auth()).await;
        assert_eq!(status, 429);
        assert!(retry.is_some_and(|s| s.parse::<u64>().is_ok_and(|w| (1..=60).contains(&w))));
        assert_eq!(lookups(), before + 1, "a new secret is looked up once");
        let (status, _) = from(&app, attacker, auth()).await;
        assert_eq!(status, 429);
        assert_eq!(lookups(), before + 1, "a refused secret was read again");
    }
    // A valid credential is never refused by the throttle, in memory or not.
    assert_eq!(from(&app, attacker, Auth::Bearer(&jane)).await.0, 200);
    assert_eq!(from(&app, attacker, Auth::Bearer(&fresh)).await.0, 200);
}
