//! Single sign-on findings of the fifth review of #17 about the provider side: a failing
//! provider's discovery is fetched at most once per interval however many flows start, a
//! configured issuer that does not match the provider's is the administrator's problem (502,
//! both issuers named), the ID token's refusals in Tessera's words (an unknown key id, a future
//! `iat`), the 502 page leading back to the login page, and the names of a user who signs in
//! with a provider shown read-only on the account page.

use std::time::Duration;

use serde_json::json;

use crate::browser::Jar;
use crate::cases::sso::{
    Browser, Idp, account, assert_refused, assert_signed_in, audit, sso_settings,
};
use crate::cases::sso_claims::{last_refusal, misbehave};
use crate::helpers::{TestApp, spawn_app_with};

/// An app with the provider at `issuer` as `corp`, a failed discovery remembered for
/// `remember`, and the default failure throttle (60 a minute).
async fn spawn(issuer: &str, remember: Duration) -> TestApp {
    let mut sso = sso_settings(issuer, "");
    sso.remember_failed_discovery = remember;
    spawn_app_with(move |c| c.sso = sso).await
}

/// The page's text with minijinja's escape of `"` undone.
fn unescaped(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
}

async fn starts(app: &TestApp, n: usize) -> Vec<crate::cases::sso::Page> {
    let mut pages = Vec::new();
    for _ in 0..n {
        pages.push(
            Jar::new()
                .get(&format!("{}/ui/sso/corp/login", app.address))
                .await,
        );
    }
    pages
}

/// Found by the fifth review: 100 starts against a provider whose discovery answers 500 were
/// 100 fetches of it (and 100 warnings). A failed discovery is remembered: the starts within
/// the interval are refused the same way without a request to the provider, and a provider
/// that recovers is used again once the interval is over.
#[tokio::test]
async fn starts_against_a_failing_discovery_reach_the_provider_once_per_interval() {
    let idp = Idp::start(json!({
        "accounts": { "ann": account(&[], "Sales") },
        "misbehave": { "discovery": "server-error" },
    }))
    .await;
    let app = spawn(&idp.issuer, Duration::from_secs(5)).await;
    for page in starts(&app, 100).await {
        assert_refused(&page, 502, "cannot reach the identity provider corp");
    }
    assert!(
        idp.requests("discovery").await <= 2,
        "{} discovery requests for 100 starts",
        idp.requests("discovery").await
    );
    // Refused starts count against the address: past the throttle's 60 they are no longer
    // audited one by one.
    let refused = audit(&app, "sso.refused").await;
    assert!(
        (1..=61).contains(&refused.len()),
        "{} refusals audited",
        refused.len()
    );
    assert_eq!(refused[0].details["reason"], "provider-unreachable");

    // The provider recovers: within the interval the failure is still answered; after it the
    // provider is asked again, and its document is then cached.
    misbehave(&idp, json!({}));
    let before = idp.requests("discovery").await;
    assert_refused(
        &starts(&app, 1).await[0],
        502,
        "cannot reach the identity provider corp",
    );
    assert_eq!(
        idp.requests("discovery").await,
        before,
        "not asked again yet"
    );
    tokio::time::sleep(Duration::from_millis(5100)).await;
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    for page in starts(&app, 20).await {
        assert_eq!(page.status, 303, "{}", page.html);
    }
    assert_eq!(
        idp.requests("discovery").await,
        before + 1,
        "fetched once after the interval, then cached"
    );
}

/// The same for a provider whose discovery document states another issuer than the configured
/// one: a settings problem, fetched at most once per interval, audited with a reason of its own.
#[tokio::test]
async fn a_configured_issuer_the_provider_does_not_state_is_a_502_fetched_once_per_interval() {
    let idp = Idp::start(json!({
        "issuer_trailing_slash": true,
        "accounts": { "ann": account(&[], "Sales") },
    }))
    .await;
    let configured = idp.issuer.trim_end_matches('/').to_string();
    let app = spawn(&configured, Duration::from_secs(10)).await;
    for page in starts(&app, 50).await {
        assert_eq!(page.status, 502, "{}", page.html);
        let text = unescaped(&page.html);
        assert!(
            text.contains(&format!("configured as {configured:?}"))
                && text.contains(&format!("states {:?}", idp.issuer))
                && text.contains("Tell an administrator"),
            "{text}"
        );
    }
    assert_eq!(idp.requests("discovery").await, 1);
    let (reason, detail) = last_refusal(&app).await;
    assert_eq!(reason, "provider-misconfigured");
    assert!(detail.contains(&configured), "{detail}");
    // The provider configured as it states itself signs in (the other side).
    let good = spawn(&idp.issuer, Duration::from_secs(10)).await;
    assert_signed_in(&Browser::new().sign_in(&good, "ann").await);
}

/// Found by the fifth review: an ID token signed with a key the provider does not publish said
/// only "Signature verification failed"; a future `iat` read "Expired: ...". Both say what is
/// wrong in Tessera's words; the keys are fetched again once for the unknown key id.
#[tokio::test]
async fn an_unknown_key_id_and_a_future_issue_time_are_refused_in_tesseras_words() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn(&idp.issuer, Duration::from_secs(10)).await;
    misbehave(&idp, json!({ "unknown_key": true }));
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let keys_before = idp.requests("jwks").await;
    let page = browser.get(&callback).await;
    assert_refused(&page, 400, "no key of the provider matches the ID token");
    let text = unescaped(&page.html);
    assert!(
        text.contains("(kid \"second\"), even after fetching its keys again"),
        "{text}"
    );
    assert!(!text.contains("Signature verification failed"), "{text}");
    assert_eq!(
        idp.requests("jwks").await,
        keys_before + 1,
        "fetched again once"
    );
    assert_eq!(last_refusal(&app).await.0, "invalid-id-token");

    let soon = chrono::Utc::now().timestamp() + 3600;
    misbehave(&idp, json!({ "id_token": { "iat": soon } }));
    let page = Browser::new().sign_in(&app, "ann").await;
    assert_refused(&page, 400, "its issue time (iat)");
    assert!(!page.html.contains("Expired"), "{}", page.html);

    // Within 10 s of that fetch the keys are not fetched again, and the page says so.
    misbehave(&idp, json!({ "unknown_key": true }));
    let page = Browser::new().sign_in(&app, "ann").await;
    assert_refused(&page, 400, "no key of the provider matches the ID token");
    assert!(
        unescaped(&page.html).contains("its keys were fetched again less than 10 s ago"),
        "{}",
        page.html
    );
    assert_eq!(
        idp.requests("jwks").await,
        keys_before + 1,
        "not fetched again"
    );

    // A key the provider publishes, and a current `iat`: signed in.
    misbehave(&idp, json!({}));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
}

/// Found by the fifth review: the 502 page said "Try again in a moment", but the callback it
/// answered is spent (reloading it is refused as a replay): it says to start again from the
/// login page.
#[tokio::test]
async fn an_unreachable_provider_sends_the_person_back_to_the_login_page() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn(&idp.issuer, Duration::from_secs(10)).await;
    misbehave(&idp, json!({ "token": "server-error" }));
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let page = browser.get(&callback).await;
    assert_refused(&page, 502, "start again from the login page");
    assert!(
        !page.html.contains("Try again in a moment"),
        "{}",
        page.html
    );
    let reloaded = browser.get(&callback).await;
    assert_eq!(
        reloaded.status, 400,
        "the callback is spent: {}",
        reloaded.html
    );
    // As the page says: a new start signs in once the provider is back.
    misbehave(&idp, json!({}));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
}

/// The page's CSRF token.
fn csrf(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let from = html.find(marker).expect("a CSRF field") + marker.len();
    html[from..from + html[from..].find('"').unwrap()].to_string()
}

/// Found by the fifth review: a user who signs in with a provider could edit their names on the
/// account page, and the next sign-in silently put the provider's back. The names are shown
/// read-only, saying where they come from, and a posted change is refused naming the fields; a
/// local account still edits them.
#[tokio::test]
async fn the_names_of_a_user_of_a_provider_are_read_only_on_the_account_page() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn(&idp.issuer, Duration::from_secs(10)).await;
    let mut browser = Browser::new();
    assert_signed_in(&browser.sign_in(&app, "ann").await);
    let url = format!("{}/ui/account", app.address);
    let page = browser.get(&url).await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains(
            "Your first and last name come from the identity provider corp and are refreshed at each sign-in"
        ) && page.html.contains("<dd>Ann</dd>")
            && page.html.contains("<dd>Smith</dd>")
            && !page.html.contains(r#"name="first_name""#),
        "{}",
        page.html
    );
    let token = csrf(&page.html);
    let profile = format!("{}/ui/account/profile", app.address);
    let refused = browser
        .post(
            &profile,
            &[
                ("csrf", &token),
                ("first_name", "Annie"),
                ("last_name", "Jones"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(
        refused
            .html
            .contains("firstName and lastName cannot be changed here")
            && refused.html.contains("<dd>Ann</dd>"),
        "{}",
        refused.html
    );
    let ann = crate::cases::sso::user(&app, "ann.smith").await;
    assert_eq!(
        (ann.first_name.as_str(), ann.last_name.as_str()),
        ("Ann", "Smith")
    );
    let refused = browser
        .post(
            &profile,
            &[
                ("csrf", &token),
                ("first_name", "Ann"),
                ("last_name", "Jones"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.html.contains("lastName cannot be changed here"));
    // Posting the names as they are changes nothing and is not refused.
    let same = browser
        .post(
            &profile,
            &[
                ("csrf", &token),
                ("first_name", "Ann"),
                ("last_name", "Smith"),
            ],
        )
        .await;
    assert_eq!(same.status, 303, "{}", same.html);

    // A local account edits its names.
    crate::cases::ui::user_with_password(&app, "jane", "jane-password-123").await;
    let mut jane = crate::cases::ui::Browser::new(&app);
    jane.login("jane", "jane-password-123").await;
    let page = jane.get("/ui/account").await;
    assert!(page.html.contains(r#"name="first_name""#) && !page.html.contains("come from"));
    let token = jane.csrf().await;
    let saved = jane
        .post(
            "/ui/account/profile",
            &[
                ("csrf", &token),
                ("first_name", "Jane"),
                ("last_name", "Doe"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
}
