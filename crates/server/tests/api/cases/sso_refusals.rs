//! Single sign-on refusals found by the review, against the real provider of `sso.rs`: a
//! finished callback replayed (after a success and after a failed verification), answers of
//! the provider that cannot be verified told apart from an unreachable provider, claims over
//! their bounds, an e-mail change that would clash with another account, and a break-glass
//! administrator who could not sign in.

use serde_json::{Value, json};
use tessera_core::names::UserName;

use crate::cases::sso::{
    Browser, Idp, account, assert_refused, assert_signed_in, audit, spawn_with_idp, sso_settings,
    user,
};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// The `reason` of every `sso.refused` entry, oldest last.
async fn refusal_reasons(app: &TestApp) -> Vec<String> {
    audit(app, "sso.refused")
        .await
        .iter()
        .filter_map(|e| e.details["reason"].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn a_finished_callback_presented_again_is_refused_as_a_replay_and_opens_no_session() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;

    // After a success: the same cookie, state and code again.
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let flow_cookie = browser.cookies["tessera_sso"].clone();
    assert_signed_in(&browser.get(&callback).await);
    let mut replayer = Browser::new();
    replayer
        .cookies
        .insert("tessera_sso".into(), flow_cookie.clone());
    let page = replayer.get(&callback).await;
    assert_refused(&page, 400, "already used once (a replay)");
    assert!(
        page.html.starts_with("<!doctype html>"),
        "a page for a person: {}",
        page.html
    );
    assert_eq!(
        audit(&app, "sso.signin").await.len(),
        1,
        "no second sign-in"
    );
    let sessions = audit(&app, "sso.signin").await;
    assert_eq!(sessions[0].details["created"], true);
    // The record outlives the cookie's freshness (10 minutes) by a margin for the clocks of
    // other nodes and whole-second rounding, so no instant lets the replay through.
    let kept_until: Vec<i64> = app
        .sql("SELECT CAST(expires_at AS TEXT) FROM sso_used_states")
        .await
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let now_ms = chrono::Utc::now().timestamp_millis();
    assert_eq!(kept_until.len(), 1);
    assert!(
        kept_until[0] >= now_ms + (600 + 240) * 1000,
        "the record of a finished flow ends with the flow: {} vs now {now_ms}",
        kept_until[0]
    );

    // After a failed verification: the flow is spent too, whatever the provider would say.
    idp.set(json!({
        "accounts": { "ann": account(&[], "Sales") },
        "misbehave": { "id_token": { "nonce": "forged-nonce" } },
    }));
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let flow_cookie = browser.cookies["tessera_sso"].clone();
    assert_refused(&browser.get(&callback).await, 400, "could not be verified");
    idp.set(json!({ "accounts": { "ann": account(&[], "Sales") } }));
    let mut replayer = Browser::new();
    replayer.cookies.insert("tessera_sso".into(), flow_cookie);
    assert_refused(&replayer.get(&callback).await, 400, "(a replay)");

    let reasons = refusal_reasons(&app).await;
    assert_eq!(
        reasons.iter().filter(|r| *r == "replayed").count(),
        2,
        "{reasons:?}"
    );
    assert_eq!(audit(&app, "sso.signin").await.len(), 1);

    // A new flow of the same person is not a replay.
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
}

#[tokio::test]
async fn an_answer_that_cannot_be_verified_is_a_400_and_only_a_silent_provider_is_unreachable() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;
    let cases: [(Value, u16, &str, &str); 5] = [
        (
            json!({ "userinfo": { "sub": "someone-else" } }),
            400,
            "could not be verified",
            "invalid-answer",
        ),
        (
            json!({ "token": "not-json" }),
            400,
            "could not be verified",
            "invalid-answer",
        ),
        (
            json!({ "token": "no-id-token" }),
            400,
            "has no id_token",
            "invalid-answer",
        ),
        (
            json!({ "token": "bad-signature" }),
            400,
            "could not be verified",
            "invalid-id-token",
        ),
        (
            json!({ "token": "server-error" }),
            502,
            "cannot reach the identity provider corp",
            "provider-unreachable",
        ),
    ];
    for (misbehave, status, says, reason) in cases {
        idp.set(json!({ "accounts": { "ann": account(&[], "Sales") }, "misbehave": misbehave }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, status, says);
        assert!(
            !page.html.contains("surprise") && !page.html.contains("eyJ"),
            "the provider's body is never quoted: {}",
            page.html
        );
        let refused = audit(&app, "sso.refused").await;
        let entry = &refused[0];
        assert_eq!(
            entry.details["reason"], reason,
            "{misbehave}: the newest refusal"
        );
        assert_eq!(entry.details["provider"], "corp");
        assert!(
            entry.details["detail"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "the reason is given: {entry:?}"
        );
    }
    assert!(user_absent(&app, "ann.smith").await, "nobody was signed in");
    // The same provider, behaving, signs the person in.
    idp.set(json!({ "accounts": { "ann": account(&[], "Sales") } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
}

/// The page's text with minijinja's escape of `"` undone.
fn unescaped(html: &str) -> String {
    html.replace("&quot;", "\"").replace("&#34;", "\"")
}

#[tokio::test]
async fn a_provider_refusing_tesseras_client_is_a_settings_problem_not_a_used_code() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let mut sso = sso_settings(&idp.issuer, "");
    sso.providers[0].client_secret = "not-the-registered-secret".into();
    let app = spawn_app_with(move |c| c.sso = sso).await;
    let page = Browser::new().sign_in(&app, "ann").await;
    assert_refused(&page, 400, "client settings for it are wrong");
    assert!(!page.html.contains("already used"), "{}", page.html);
    let refused = audit(&app, "sso.refused").await;
    assert_eq!(refused[0].details["reason"], "client-refused");
    assert!(
        !refused[0]
            .details
            .to_string()
            .contains("not-the-registered-secret"),
        "the secret is never audited"
    );
}

async fn user_absent(app: &TestApp, name: &str) -> bool {
    app.state
        .store
        .principal_by_name(&UserName::parse("u", name).unwrap())
        .await
        .unwrap()
        .is_none()
}

#[tokio::test]
async fn a_claim_over_its_bound_refuses_the_sign_in_naming_the_claim_and_keeps_what_was_stored() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;

    // A first sign-in with an oversized attribute creates nobody.
    idp.set(json!({ "accounts": { "ann": account(&[], &"x".repeat(2000)) } }));
    let page = Browser::new().sign_in(&app, "ann").await;
    assert_refused(&page, 400, "longer than Tessera accepts");
    assert!(
        unescaped(&page.html).contains(r#"claim "department""#),
        "{}",
        page.html
    );
    assert!(user_absent(&app, "ann.smith").await);

    // Within bounds: signed in.
    idp.set(json!({ "accounts": { "ann": account(&[], "Sales") } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let ann = user(&app, "ann.smith").await;

    // Later, every bounded claim over its bound is refused and changes nothing stored.
    for (claim, value) in [
        ("department", json!("x".repeat(1100))),
        ("preferred_username", json!("a".repeat(256))),
        ("email", json!(format!("{}@corp.example", "a".repeat(250)))),
        ("given_name", json!("A".repeat(129))),
    ] {
        let mut person = account(&[], "Sales");
        person[claim] = value;
        idp.set(json!({ "accounts": { "ann": person } }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, "longer than Tessera accepts");
        let named = format!("claim {claim:?}");
        assert!(
            unescaped(&page.html).contains(&named),
            "{named}: {}",
            page.html
        );
    }
    let attributes = app.state.store.attributes_of(ann.id).await.unwrap();
    assert_eq!(
        attributes["department"], "Sales",
        "the stored value is kept"
    );
    let still = user(&app, "ann.smith").await;
    assert_eq!(still.first_name, "Ann");
    let refused = audit(&app, "sso.refused").await;
    let too_long: Vec<_> = refused
        .iter()
        .filter(|e| e.details["reason"] == "claim-too-long")
        .collect();
    assert_eq!(too_long.len(), 5);
    for entry in too_long {
        let detail = entry.details["detail"].as_str().unwrap_or("");
        assert!(detail.contains("claim"), "{detail}");
        assert!(
            !detail.contains("xxxxxxxxxx"),
            "the value itself is not audited"
        );
    }
    assert_eq!(audit(&app, "sso.signin").await.len(), 1);
}

#[tokio::test]
async fn an_email_change_that_clashes_with_another_account_keeps_the_old_address_and_is_audited() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;
    app.create_user("bob", &["Practitioner"]).await;
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);

    // The provider now says ann's address is bob's: ann signs in, keeps hers, bob keeps his.
    let mut clashing = account(&[], "Sales");
    clashing["email"] = json!("bob@example.com");
    idp.set(json!({ "accounts": { "ann": clashing } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let ann = user(&app, "ann.smith").await;
    assert_eq!(
        ann.email.as_ref().map(|e| e.as_str()),
        Some("ann@corp.example")
    );
    let bob = user(&app, "bob").await;
    assert_eq!(
        bob.email.as_ref().map(|e| e.as_str()),
        Some("bob@example.com")
    );
    let kept = audit(&app, "sso.email-kept").await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].actor.user_name.as_deref(), Some("sso:corp"));
    assert_eq!(kept[0].target_name.as_deref(), Some("ann.smith"));
    assert_eq!(kept[0].details["provider"], "corp");
    assert_eq!(kept[0].details["email"], "bob@example.com");
    assert_eq!(kept[0].details["heldBy"], "bob");

    // A change to a free address is simply applied, without that event.
    let mut moved = account(&[], "Sales");
    moved["email"] = json!("ann@new.example");
    idp.set(json!({ "accounts": { "ann": moved } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let ann = user(&app, "ann.smith").await;
    assert_eq!(
        ann.email.as_ref().map(|e| e.as_str()),
        Some("ann@new.example")
    );
    assert_eq!(audit(&app, "sso.email-kept").await.len(), 1);
}

#[tokio::test]
async fn a_break_glass_administrator_who_could_not_sign_in_is_named_at_start() {
    let app = spawn_app().await;
    let problem = |name: &str| {
        let name = UserName::parse("break_glass_admin", name).unwrap();
        let state = app.state.clone();
        async move { state.sso.service.break_glass_problem(&name).await.unwrap() }
    };
    assert_eq!(
        problem("admin").await,
        None,
        "the bootstrap SysAdmin is fine"
    );

    assert!(
        problem("nobody")
            .await
            .unwrap()
            .contains("no account is named 'nobody'")
    );
    app.create_user("carol", &["Practitioner"]).await;
    assert!(problem("carol").await.unwrap().contains("SysAdmin"));
    let root = app.create_user("root", &["SysAdmin"]).await;
    assert!(
        problem("root").await.unwrap().contains("has no password"),
        "a SysAdmin without a password cannot break the glass"
    );
    app.post(
        &format!("/api/admin/v1/users/{root}/password"),
        &app.admin_token,
        json!({ "password": "root-password-long-enough" }),
    )
    .await
    .assert_status(204);
    assert_eq!(problem("root").await, None);
    app.admin_post_empty(&format!("/api/admin/v1/users/{root}/deactivate"))
        .await
        .assert_status(200);
    assert!(problem("root").await.unwrap().contains("deactivated"));
    app.service_account_token("robot", "ci").await;
    assert!(problem("robot").await.unwrap().contains("service account"));
}

/// Found by the second review of #17: a NUL in `sub` was a 503 on PostgreSQL and stored on
/// SQLite, and a NUL in `given_name` was stored as an empty name. A control character in any
/// claim Tessera stores or matches refuses the sign-in, naming the claim, on both backends.
#[tokio::test]
async fn a_control_character_in_any_stored_claim_refuses_the_sign_in_naming_the_claim() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&["team-churn"], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;

    // A first sign-in whose subject holds a NUL creates nobody (and is no 503).
    idp.set(json!({
        "accounts": { "ann": account(&["team-churn"], "Sales") },
        "misbehave": {
            "id_token": { "sub": "ann\u{0}x" },
            "userinfo": { "sub": "ann\u{0}x" },
        },
    }));
    let page = Browser::new().sign_in(&app, "ann").await;
    assert_refused(&page, 400, "control character");
    assert!(
        unescaped(&page.html).contains(r#"claim "sub""#),
        "{}",
        page.html
    );
    assert!(user_absent(&app, "ann.smith").await);

    idp.set(json!({ "accounts": { "ann": account(&["team-churn"], "Sales") } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let ann = user(&app, "ann.smith").await;

    for (claim, value) in [
        ("preferred_username", json!("ann\u{0}")),
        ("email", json!("ann\u{0}@corp.example")),
        ("given_name", json!("A\u{0}nn")),
        ("family_name", json!("Smith\r\nX-Evil: 1")),
        ("department", json!("Sa\u{1}les")),
    ] {
        let mut person = account(&["team-churn"], "Sales");
        person[claim] = value;
        idp.set(json!({ "accounts": { "ann": person } }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, "control character");
        let named = format!("claim {claim:?}");
        assert!(
            unescaped(&page.html).contains(&named),
            "{named}: {}",
            page.html
        );
    }
    let still = user(&app, "ann.smith").await;
    assert_eq!(
        (still.first_name.as_str(), still.last_name.as_str()),
        ("Ann", "Smith"),
        "nothing stored changed"
    );
    assert_eq!(
        app.state.store.attributes_of(ann.id).await.unwrap()["department"],
        "Sales"
    );
    let refused = audit(&app, "sso.refused").await;
    let control: Vec<_> = refused
        .iter()
        .filter(|e| e.details["reason"] == "claim-control-character")
        .collect();
    assert_eq!(control.len(), 6, "{refused:?}");
    for entry in &control {
        assert_eq!(entry.details["provider"], "corp");
        assert!(!entry.details.to_string().contains("\\u0000"), "{entry:?}");
    }
    // The refusals of a known person name the subject; the one with a bad subject does not.
    assert_eq!(
        control
            .iter()
            .filter(|e| e.details["subject"] == "ann")
            .count(),
        5
    );
    assert_eq!(audit(&app, "sso.signin").await.len(), 1);
}

/// Found by the second review of #17: concurrent first sign-ins of one person met each other's
/// new account (a false "e-mail taken", or a 503 on PostgreSQL). Every one of them succeeds,
/// and exactly one user (with one organisation) is made.
#[tokio::test]
async fn concurrent_first_sign_ins_of_one_person_all_succeed_and_make_one_user() {
    const N: usize = 6;
    let idp = Idp::start(
        json!({ "accounts": { "ann": account(&["data-admins", "team-churn"], "Sales") } }),
    )
    .await;
    let app = spawn_with_idp(&idp, "").await;
    // Each browser goes through the provider; the callbacks are then presented at once.
    let mut browsers: Vec<Browser> = (0..N).map(|_| Browser::new()).collect();
    let mut callbacks = Vec::new();
    for browser in &mut browsers {
        callbacks.push(browser.through_provider(&app, "corp", "ann", true).await);
    }
    let pages = futures::future::join_all(
        browsers
            .iter_mut()
            .zip(&callbacks)
            .map(|(browser, callback)| browser.get(callback)),
    )
    .await;
    for page in &pages {
        assert_signed_in(page);
    }
    let names = app
        .sql("SELECT user_name FROM principals WHERE user_name LIKE 'ann%'")
        .await;
    assert_eq!(names, ["ann.smith"], "one user for one person");
    assert_eq!(
        app.sql("SELECT name FROM organizations WHERE name = 'churn'")
            .await
            .len(),
        1
    );
    assert_eq!(
        audit(&app, "user.created")
            .await
            .iter()
            .filter(|e| e.actor.user_name.as_deref() == Some("sso:corp"))
            .count(),
        1
    );
    assert_eq!(audit(&app, "sso.signin").await.len(), N);
    assert!(refusal_reasons(&app).await.is_empty());
    let ann = user(&app, "ann.smith").await;
    assert_eq!(
        app.state.store.organization_names_of(ann.id).await.unwrap(),
        ["churn"]
    );
}
