//! Failed authentications are throttled per address; valid credentials never are.

use reqwest::Method;

use crate::helpers::{Auth, spawn_app_with};

#[tokio::test]
async fn repeated_failures_get_429_but_a_valid_credential_still_passes() {
    let app = spawn_app_with(|c| c.throttle.max_failures = 5).await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    // Requests without any credential are not failures.
    for _ in 0..10 {
        app.send(Method::GET, "/v4/users/self", Auth::None, None)
            .await
            .assert_status(401);
    }
    for _ in 0..5 {
        app.get("/v4/users/self", "tpat_wrong")
            .await
            .assert_status(401);
    }
    let throttled = app.get("/v4/users/self", "tpat_wrong").await;
    throttled.assert_status(429).assert_envelope();
    let wait: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    app.get("/v4/users/self", &jane).await.assert_status(200);
    app.send(
        Method::GET,
        "/v4/users/self",
        Auth::ApiKey("tkey_wrong"),
        None,
    )
    .await
    .assert_status(429);
    app.get("/v4/users/self", &jane).await.assert_status(200);
}
