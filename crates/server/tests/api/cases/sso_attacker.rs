//! Single sign-on findings of the fourth review of #17 (a reviewer trying it as an attacker),
//! against the real provider of `sso.rs`: ID tokens of real providers with claims typed their
//! own way, the clock skew of `exp`, the authorization response's `iss` (RFC 9207), the cost of
//! an address's own flows presented with forged codes, and forged links that broke a sign-in in
//! progress.

use serde_json::json;

use crate::cases::sso::{
    Browser, Idp, account, assert_refused, assert_signed_in, audit, spawn_throttled,
    spawn_with_issuer, user, with_query, without_query,
};
use crate::cases::sso_claims::{last_refusal, misbehave};
use crate::helpers::TestApp;

/// The page's text with minijinja's escape of `"` undone.
fn unescaped(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
}

/// The `tessera_sso` cookie the page sets, if any.
fn flow_cookie_set(page: &crate::cases::sso::Page) -> Option<&String> {
    page.set_cookies
        .iter()
        .find(|c| c.starts_with("tessera_sso="))
}

/// An app whose failure throttle the many refusals of one test do not reach.
async fn spawn(idp: &Idp) -> TestApp {
    spawn_throttled(idp, 1000).await
}

/// Found by the fourth review: any claim of an unexpected type in the ID token, even one Tessera
/// never reads, refused the sign-in as "not valid JSON of the expected shape (at .)". Auth0's
/// `updated_at` (RFC 3339) and Cognito's `email_verified: "true"` now sign in; a standard claim
/// still of the wrong type is named, with what it should be, never quoted.
#[tokio::test]
async fn real_providers_claims_sign_in_and_a_standard_claim_of_another_type_is_named() {
    let idp = Idp::start(json!({ "accounts": {} })).await;
    let app = spawn(&idp).await;
    // Cognito's text booleans are read as what they say: "false" keeps the address out...
    misbehave(
        &idp,
        json!({ "id_token": {
            "updated_at": "2026-12-07T20:00:00.000Z",
            "email": "ann@corp.example",
            "email_verified": "false",
        } }),
    );
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert_eq!(user(&app, "ann.smith").await.email, None);
    // ...and "true" lets it in.
    misbehave(
        &idp,
        json!({ "id_token": {
            "updated_at": "2026-12-07T20:00:00Z",
            "email": "ann@corp.example",
            "email_verified": "true",
        } }),
    );
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert_eq!(
        user(&app, "ann.smith")
            .await
            .email
            .as_ref()
            .map(|e| e.as_str()),
        Some("ann@corp.example")
    );
    // Userinfo is read as plain JSON: the same claims of any type there are no problem.
    misbehave(
        &idp,
        json!({ "userinfo": { "locale": 12, "updated_at": "yesterday", "address": "Bern" } }),
    );
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);

    for (claim, value, should_be) in [
        ("locale", json!(12), "a string as OIDC Core §5.1"),
        ("given_name", json!(42), "a string as OIDC Core §5.1"),
        ("address", json!("a string"), "a JSON object of strings"),
        ("iss", json!("not-a-url"), "a URL as OIDC Core §2"),
        ("preferred_username", json!(1234567), "a string"),
        ("email_verified", json!("yes-indeed"), "a boolean"),
        ("updated_at", json!("last-tuesday"), "a time"),
    ] {
        misbehave(&idp, json!({ "id_token": { claim: value } }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, "could not be verified");
        let named = format!("the ID token's claim \"{claim}\" is not {should_be}");
        let html = unescaped(&page.html);
        assert!(html.contains(&named), "{named}: {html}");
        assert!(!html.contains("expected shape"), "{html}");
        for quoted in [
            "a string\"",
            "not-a-url",
            "yes-indeed",
            "last-tuesday",
            "1234567",
        ] {
            assert!(!html.contains(quoted), "a value is quoted: {html}");
        }
        let (reason, detail) = last_refusal(&app).await;
        assert_eq!(reason, "invalid-id-token", "{claim}");
        assert!(
            detail.contains(&format!("claim \"{claim}\" is not {should_be}")),
            "{claim}: {detail}"
        );
    }
    assert_eq!(audit(&app, "sso.signin").await.len(), 3);
}

/// Found by the fourth review: `iat` and `nbf` had 60 s of clock skew, `exp` none. An ID token
/// that expired within the skew signs in; one that expired before it is refused, saying so.
#[tokio::test]
async fn an_id_token_expired_within_the_clock_skew_signs_in_and_one_expired_before_is_refused() {
    let idp = Idp::start(json!({ "accounts": {} })).await;
    let app = spawn(&idp).await;
    let now = chrono::Utc::now().timestamp();
    misbehave(&idp, json!({ "id_token": { "exp": now - 30 } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    for exp in [json!(now - 300), json!("2020-01-01T00:00:00Z")] {
        misbehave(&idp, json!({ "id_token": { "exp": exp } }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, "60 s of clock skew allowed");
        assert!(page.html.contains("it expired at"), "{}", page.html);
        let (reason, detail) = last_refusal(&app).await;
        assert_eq!(reason, "invalid-id-token");
        assert!(detail.contains("(exp; now"), "{detail}");
    }
    assert_eq!(audit(&app, "sso.signin").await.len(), 1);
}

/// Found by the fourth review: the authorization response's `iss` (RFC 9207) was not compared,
/// so an answer of another provider (a mix-up attack) reached the token endpoint. It must be
/// the provider's issuer exactly, on success and error answers alike, and be there when the
/// provider announces it; refused before any token request.
#[tokio::test]
async fn the_authorization_responses_issuer_must_be_the_providers() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn(&idp).await;
    let tokens = idp.requests("token").await;
    let mut refused = 0;
    for (change, says) in [
        ("https://evil.example", "is not"),
        ("trailing", "is not"),
        ("missing", "has no iss parameter"),
    ] {
        let mut browser = Browser::new();
        let callback = browser.through_provider(&app, "corp", "ann", true).await;
        assert!(
            callback.contains("iss="),
            "oidc-provider sends iss: {callback}"
        );
        let forged = match change {
            "missing" => without_query(&callback, "iss"),
            "trailing" => with_query(&callback, "iss", &format!("{}/", idp.issuer)),
            other => with_query(&callback, "iss", other),
        };
        let page = browser.get(&forged).await;
        assert_refused(&page, 400, "does not come from the identity provider corp");
        let (reason, detail) = last_refusal(&app).await;
        assert_eq!(reason, "issuer-mismatch", "{change}");
        assert!(detail.contains(says), "{change}: {detail}");
        assert!(!detail.contains("evil"), "the forged value is not quoted");
        refused += 1;
    }
    // An error answer naming another issuer is refused as such, not taken as the provider's.
    let mut browser = Browser::new();
    let denied = browser.through_provider(&app, "corp", "ann", false).await;
    let page = browser
        .get(&with_query(&denied, "iss", "https://evil.example"))
        .await;
    assert_refused(&page, 400, "does not come from the identity provider corp");
    assert_eq!(last_refusal(&app).await.0, "issuer-mismatch");
    refused += 1;
    assert_eq!(
        idp.requests("token").await,
        tokens,
        "no token request for any of the {refused} answers"
    );
    // The provider's own answer, iss included, signs in.
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert_eq!(idp.requests("token").await, tokens + 1);

    // A provider without RFC 9207 (no iss, not announced): its answers sign in, and an iss
    // that is there is still compared.
    let plain = Idp::start(json!({
        "accounts": { "ann": account(&[], "Sales") },
        "misbehave": { "iss_parameter": "unsupported" },
    }))
    .await;
    let app = spawn(&plain).await;
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    assert!(!callback.contains("iss="), "{callback}");
    assert_signed_in(&browser.get(&callback).await);
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let page = browser
        .get(&with_query(&callback, "iss", "https://evil.example"))
        .await;
    assert_refused(&page, 400, "does not come from the identity provider corp");
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    assert_signed_in(
        &browser
            .get(&with_query(&callback, "iss", &plain.issuer))
            .await,
    );
}

/// Found by the fourth review: past the failure limit, an address could start flows of its own
/// and present each with a forged code without limit, every one a token request with Tessera's
/// client credentials. Past the limit, one such exchange per 10 s reaches the provider; the
/// rest are 429 pages. Another address is unaffected, and a genuine sign-in from the same
/// address goes through after the wait.
#[tokio::test]
async fn own_flows_with_forged_codes_past_the_limit_cost_the_provider_one_request_per_interval() {
    const LIMIT: u64 = 3;
    const BURST: usize = 30;
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn_throttled(&idp, LIMIT as u32).await;
    let tokens = idp.requests("token").await;
    let mut statuses = Vec::new();
    for _ in 0..BURST {
        let mut browser = Browser::new();
        let start = browser
            .get(&format!("{}/ui/sso/corp/login", app.address))
            .await;
        assert_eq!(start.status, 303, "starting a flow is never throttled");
        let authorize = reqwest::Url::parse(start.location.as_deref().unwrap()).unwrap();
        let state = authorize
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        let callback = format!("{}/ui/sso/corp/callback", app.address);
        let forged = with_query(
            &with_query(&with_query(&callback, "state", &state), "code", "forged"),
            "iss",
            &idp.issuer,
        );
        statuses.push(browser.get(&forged).await.status.as_u16());
    }
    let exchanged = idp.requests("token").await - tokens;
    assert_eq!(
        &statuses[..LIMIT as usize],
        [400, 400, 400],
        "under the limit each forged code is refused by the provider"
    );
    // The limit's own refusals, then one exchange per 10 s (two if the burst took longer).
    assert!(
        (LIMIT + 1..=LIMIT + 2).contains(&exchanged),
        "{exchanged} token requests for {BURST} forged codes: {statuses:?}"
    );
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert!(throttled >= BURST - 5, "{statuses:?}");

    // A person at the attacker's address: their genuine answer waits for the interval (the
    // flow is not spent by the 429, nor its cookie cleared), then signs in.
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let page = browser.get(&callback).await;
    assert_refused(&page, 429, "Too many failed attempts");
    assert!(flow_cookie_set(&page).is_none(), "{:?}", page.set_cookies);
    let wait: u64 = page
        .html
        .split("Try again in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|secs| secs.parse().ok())
        .unwrap();
    assert!((1..=10).contains(&wait), "{wait}");
    // Meanwhile a person at another address signs in at once.
    let elsewhere = Browser::from_address([127, 0, 0, 2].into())
        .sign_in(&app, "ann")
        .await;
    assert_signed_in(&elsewhere);
    tokio::time::sleep(std::time::Duration::from_secs(wait + 1)).await;
    assert_signed_in(&browser.get(&callback).await);
    // A genuine sign-in gives its exchange back: the next one need not wait.
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert_eq!(audit(&app, "sso.signin").await.len(), 3);
}

/// Found by the fourth review: every callback answer emptied the flow cookie, so a forged link
/// (someone else's `state`, or none) opened by a person broke the sign-in they had in progress.
/// Only a callback that spends the flow (its `state` is the cookie's) clears it, and a stale
/// or garbled cookie goes.
#[tokio::test]
async fn a_forged_link_leaves_a_sign_in_in_progress_alone() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn(&idp).await;
    let mut victim = Browser::new();
    let callback = victim.through_provider(&app, "corp", "ann", true).await;
    let cookie = victim.cookies["tessera_sso"].clone();
    let base = format!("{}/ui/sso/corp/callback", app.address);
    for forged in [
        format!("{base}?state=forged&code=x"),
        base.clone(),
        with_query(&callback, "state", "another-flows-state"),
        without_query(&callback, "state"),
    ] {
        let page = victim.get(&forged).await;
        assert_refused(&page, 400, "state mismatch");
        assert!(
            flow_cookie_set(&page).is_none(),
            "{forged}: {:?}",
            page.set_cookies
        );
        assert_eq!(victim.cookies["tessera_sso"], cookie);
    }
    // The genuine answer then signs in, and spends the flow: its cookie goes.
    let page = victim.get(&callback).await;
    assert_signed_in(&page);
    assert!(
        flow_cookie_set(&page).is_some_and(|c| c.contains("Max-Age=0")),
        "{:?}",
        page.set_cookies
    );

    // A flow spent by a refusal (a forged code in the browser's own flow) goes too.
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let page = browser.get(&with_query(&callback, "code", "forged")).await;
    assert_refused(&page, 400, "refused this sign-in code");
    assert!(flow_cookie_set(&page).is_some_and(|c| c.contains("Max-Age=0")));

    // A garbled or stale cookie is cleared by any callback.
    let an_hour_ago = chrono::Utc::now().timestamp() - 3600;
    for stale in [
        "garbage".to_string(),
        format!("{}.{an_hour_ago}.", "a".repeat(43)),
    ] {
        let mut browser = Browser::new();
        browser.cookies.insert("tessera_sso".into(), stale.clone());
        let page = browser.get(&format!("{base}?state=x&code=y")).await;
        assert_refused(&page, 400, "did not start in this browser");
        assert!(
            flow_cookie_set(&page).is_some_and(|c| c.contains("Max-Age=0")),
            "{stale}: {:?}",
            page.set_cookies
        );
    }
}

/// Found when the fixes of the fourth review were merged: the configured issuer lost its
/// trailing slash, so a provider whose issuer has one (Auth0's `https://<tenant>.auth0.com/`)
/// could never pass discovery, which compares the document's `issuer` as a string (OIDC
/// Discovery §4.3). Configured as the provider states it, it signs in; configured otherwise,
/// the sign-in is refused naming the discovery document's issuer.
#[tokio::test]
async fn an_issuer_is_kept_exactly_as_configured_trailing_slash_included() {
    let idp = Idp::start(json!({
        "issuer_trailing_slash": true,
        "accounts": { "ann": account(&[], "Sales") },
    }))
    .await;
    assert!(idp.issuer.ends_with('/'), "{}", idp.issuer);
    let app = spawn_with_issuer(&idp.issuer, "").await;
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);

    let without_slash = spawn_with_issuer(idp.issuer.trim_end_matches('/'), "").await;
    let page = Browser::new()
        .get(&format!("{}/ui/sso/corp/login", without_slash.address))
        .await;
    // The fifth review: an administrator's problem (502, naming both issuers), not the
    // person's ("Start again").
    assert_eq!(page.status, 502, "{}", page.html);
    let text = unescaped(&page.html);
    assert!(
        text.contains("settings for the identity provider corp do not match it")
            && text.contains(&format!(
                "configured as {:?}",
                idp.issuer.trim_end_matches('/')
            ))
            && text.contains(&format!("states {:?}", idp.issuer))
            && text.contains("Tell an administrator")
            && !text.contains("Start again"),
        "the page names both issuers: {text}"
    );
}
