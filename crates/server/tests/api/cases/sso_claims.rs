//! Single sign-on findings of the third review of #17 about what the provider asserts, against
//! the real provider of `sso.rs`: an empty `sub`, blank claims, invisible format characters,
//! provider text echoed into refusals (bounded), `nbf` and `iat` in the future, answers
//! nested too deep, and oversized answers of every endpoint (read no further than the bound).

use serde_json::{Value, json};

use crate::cases::sso::{
    Browser, Idp, account, assert_refused, assert_signed_in, audit, provider_error, roles,
    spawn_throttled, sso_settings, user,
};
use crate::helpers::{Auth, TestApp, operator_token, spawn_app_with};

/// An app signed in through `idp`, with a failure throttle that the many refusals of one test
/// do not reach.
async fn spawn(idp: &Idp) -> TestApp {
    spawn_throttled(idp, 1000).await
}

/// The newest `sso.refused` entry's reason and detail.
pub(crate) async fn last_refusal(app: &TestApp) -> (String, String) {
    let refused = audit(app, "sso.refused").await;
    let details = &refused.first().expect("an sso.refused entry").details;
    (
        details["reason"].as_str().unwrap().to_string(),
        details["detail"].as_str().unwrap().to_string(),
    )
}

/// Sets the provider's misbehaviour for `ann`'s next sign-ins.
pub(crate) fn misbehave(idp: &Idp, misbehave: Value) {
    idp.set(json!({ "accounts": { "ann": account(&["data-admins"], "Sales") }, "misbehave": misbehave }));
}

/// Found by the third review: an ID token with `sub: ""` signed in, and two such people shared
/// one account (OIDC Core §2: `sub` is required and never reassigned).
#[tokio::test]
async fn an_empty_subject_is_refused_in_the_id_token_and_in_userinfo() {
    let idp = Idp::start(json!({ "accounts": {} })).await;
    let app = spawn(&idp).await;
    for (id_token, userinfo) in [
        (json!({ "sub": "" }), json!({})),
        (json!({ "sub": "  " }), json!({})),
        (json!({ "sub": "" }), json!({ "sub": "" })),
    ] {
        misbehave(&idp, json!({ "id_token": id_token, "userinfo": userinfo }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, "its subject (sub) is empty");
        assert!(!page.html.contains("another subject"), "{}", page.html);
        assert_eq!(last_refusal(&app).await.0, "invalid-id-token");
    }
    // The ID token's subject is fine, userinfo's is empty.
    misbehave(&idp, json!({ "userinfo": { "sub": "" } }));
    let page = Browser::new().sign_in(&app, "ann").await;
    assert_refused(&page, 400, "userinfo&#x27;s subject (sub) is empty");
    assert_eq!(last_refusal(&app).await.0, "invalid-answer");
    assert!(
        audit(&app, "sso.signin").await.is_empty(),
        "nobody signed in"
    );
    // The same person with their real subject signs in.
    misbehave(&idp, json!({}));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
}

/// The neighbours of an empty subject: a blank user-name claim falls back to the subject, a
/// blank e-mail is no e-mail, blank groups name nothing; the sign-in goes through.
#[tokio::test]
async fn blank_user_name_email_and_group_claims_are_no_claims() {
    let mut person = account(&["", " ", "data-admins"], "Sales");
    person["preferred_username"] = json!("   ");
    person["email"] = json!(" ");
    let idp = Idp::start(json!({ "accounts": { "ann": person } })).await;
    let app = spawn(&idp).await;
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let ann = user(&app, "ann").await;
    assert_eq!(ann.email, None);
    assert!(ann.roles.contains(tessera_core::roles::Role::SysAdmin));
}

/// Found by the third review: only Cc control characters were refused; U+2028, bidirectional
/// overrides and zero-width characters passed into names, e-mail and attributes.
#[tokio::test]
async fn invisible_format_characters_in_claims_are_refused_like_control_characters() {
    let idp = Idp::start(json!({ "accounts": {} })).await;
    let app = spawn(&idp).await;
    for (claim, value) in [
        ("given_name", json!("Ann\u{202E}")),
        ("family_name", json!("Smith\u{2028}")),
        ("email", json!("ann\u{200B}@corp.example")),
        ("department", json!(["Sales\u{2066}"])),
        ("preferred_username", json!("ann\u{FEFF}")),
    ] {
        let mut person = account(&[], "Sales");
        person[claim] = value;
        idp.set(json!({ "accounts": { "ann": person } }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, "invisible formatting character");
        assert!(page.html.contains(claim), "names {claim}: {}", page.html);
        assert_eq!(last_refusal(&app).await.0, "claim-control-character");
    }
    assert!(audit(&app, "sso.signin").await.is_empty());

    // A provider's error text loses them too, and is cut at exactly 200 characters.
    idp.set(json!({ "accounts": { "ann": account(&[], "Sales") } }));
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let description = format!("a\u{202E}b\u{2028}c\u{200B}{}", "d".repeat(500));
    let forged = provider_error(&callback, "server_error", &description);
    let page = browser.get(&forged).await;
    assert_refused(&page, 400, "server_error. abcddd");
    let (reason, detail) = last_refusal(&app).await;
    assert_eq!(reason, "provider-error");
    let quoted = detail.split("server_error. ").nth(1).unwrap();
    assert_eq!(quoted.chars().count(), 200, "{quoted}");
    assert!(
        quoted.starts_with("abcd") && quoted.ends_with('…'),
        "{quoted}"
    );
}

/// Found by the third review: an `aud` of 60,000 characters was echoed by the verifier into a
/// 60 KB audit entry and page.
#[tokio::test]
async fn a_verifiers_message_echoing_a_huge_claim_is_bounded_on_the_page_and_in_the_audit() {
    let idp = Idp::start(json!({ "accounts": {} })).await;
    let app = spawn(&idp).await;
    // (An `iss` that is no URL is refused earlier, by the token answer's parse, naming the
    // claim: see `sso_attacker.rs`.)
    for claim in ["aud"] {
        misbehave(
            &idp,
            json!({ "id_token": { claim: format!("{}\u{202E}", "a".repeat(60_000)) } }),
        );
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, "could not be verified");
        assert!(page.html.len() < 4000, "{claim}: {} bytes", page.html.len());
        let (reason, detail) = last_refusal(&app).await;
        assert_eq!(reason, "invalid-id-token", "{claim}: {detail}");
        assert!(detail.chars().count() < 400, "{claim}: {}", detail.len());
        assert!(detail.contains("…"), "{detail}");
        assert!(!detail.contains('\u{202E}'), "{detail}");
    }
}

/// Found by the third review: an ID token valid only in an hour (`nbf`, RFC 7519 §4.1.5) or
/// issued in an hour (`iat`, OIDC Core §3.1.3.7 step 10) was accepted. Within the allowed clock
/// skew (60 s) both are fine.
#[tokio::test]
async fn an_id_token_not_yet_valid_or_issued_in_the_future_is_refused() {
    let idp = Idp::start(json!({ "accounts": {} })).await;
    let app = spawn(&idp).await;
    let now = chrono::Utc::now().timestamp();
    for (claim, value, says) in [
        ("nbf", json!(now + 3600), "(nbf"),
        ("nbf", json!("tomorrow"), "(nbf) is not a number"),
        ("iat", json!(now + 3600), "(iat)"),
    ] {
        misbehave(&idp, json!({ "id_token": { claim: value } }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, says);
        assert_eq!(last_refusal(&app).await.0, "invalid-id-token", "{claim}");
    }
    assert!(audit(&app, "sso.signin").await.is_empty());
    for claim in ["nbf", "iat"] {
        let soon = chrono::Utc::now().timestamp() + 20;
        misbehave(&idp, json!({ "id_token": { claim: soon } }));
        assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    }
    misbehave(&idp, json!({ "id_token": { "nbf": now - 10 } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
}

/// Found by the third review: a claim nested 300 levels deep was refused as "not a JSON
/// object"; the message says what is wrong.
#[tokio::test]
async fn an_answer_nested_too_deep_is_refused_saying_so() {
    let mut deep = json!("Sales");
    for _ in 0..300 {
        deep = Value::Array(vec![deep]);
    }
    let mut person = account(&[], "Sales");
    person["department"] = deep;
    let idp = Idp::start(json!({ "accounts": { "ann": person } })).await;
    let app = spawn(&idp).await;
    let page = Browser::new().sign_in(&app, "ann").await;
    assert_refused(&page, 400, "nests JSON deeper than 128 levels");
    assert_eq!(last_refusal(&app).await.0, "invalid-answer");
}

/// Found by the third review: a 200 MB token answer was read whole. Every endpoint's answer is
/// refused past its bound (1 MiB; userinfo 256 KiB) as an answer that cannot be verified.
#[tokio::test]
async fn oversized_answers_of_every_endpoint_are_refused() {
    let idp = Idp::start(json!({ "accounts": {} })).await;
    // A failed discovery is remembered for 10 s; this test changes the failure at once.
    let mut sso = sso_settings(&idp.issuer, "");
    sso.remember_failed_discovery = std::time::Duration::ZERO;
    let app = spawn_app_with(move |c| {
        c.sso = sso;
        c.throttle.max_failures = 1000;
    })
    .await;
    // Discovery and keys are fetched when a flow starts (and not cached when refused).
    for endpoint in ["discovery", "jwks"] {
        misbehave(&idp, json!({ "huge": endpoint }));
        let page = Browser::new()
            .get(&format!("{}/ui/sso/corp/login", app.address))
            .await;
        assert_refused(&page, 400, "larger than 1048576 bytes");
        assert_eq!(last_refusal(&app).await.0, "invalid-answer", "{endpoint}");
    }
    for (endpoint, bound) in [("token", 1_048_576), ("userinfo", 262_144)] {
        misbehave(&idp, json!({ "huge": endpoint }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, &format!("larger than {bound} bytes"));
        assert_eq!(last_refusal(&app).await.0, "invalid-answer", "{endpoint}");
    }
    assert!(audit(&app, "sso.signin").await.is_empty());
    misbehave(&idp, json!({}));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
}

/// Found by the fifth review: a groups claim of another type (a number, an object, a list
/// holding a number) was read as "no groups" and took a SysAdmin's role and PATs away; and one
/// group the mappings never name, holding an emoji's variation selector or a zero-width space,
/// refused the person's sign-in. Only mapped groups are read now, and a groups claim that is not
/// a list of strings refuses the sign-in naming it, changing nothing.
#[tokio::test]
async fn groups_of_another_type_refuse_and_groups_no_mapping_names_are_ignored() {
    let idp =
        Idp::start(json!({ "accounts": { "ann": account(&["data-admins"], "Sales") } })).await;
    let app = spawn(&idp).await;
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert!(
        roles(&app, "ann.smith")
            .await
            .contains(&"SysAdmin".to_string())
    );
    let pat = operator_token(&app.state, "ann.smith", "laptop").await;

    for groups in [json!(5), json!({ "a": 1 }), json!(["data-admins", 5])] {
        let mut person = account(&[], "Sales");
        person["groups"] = groups.clone();
        idp.set(json!({ "accounts": { "ann": person } }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, "is not a list of group names");
        assert!(page.html.contains("groups"), "{groups}: {}", page.html);
        assert_eq!(last_refusal(&app).await.0, "claim-wrong-type", "{groups}");
    }
    assert!(
        roles(&app, "ann.smith")
            .await
            .contains(&"SysAdmin".to_string()),
        "a refused sign-in changes no role"
    );
    app.assert_whoami(Auth::Bearer(&pat), 200).await;

    // Groups no mapping names change nothing and refuse nothing, whatever they hold; a near
    // spelling of a mapped group (with a zero-width space) maps to nothing.
    let mut person = account(&["data-admins"], "Sales");
    person["groups"] = json!(["data-admins", "\u{2764}\u{FE0F} fans", "ops\u{200B}team"]);
    idp.set(json!({ "accounts": { "ann": person } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let mut person = account(&[], "Sales");
    person["groups"] = json!(["data-admins\u{200B}"]);
    idp.set(json!({ "accounts": { "ann": person } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert!(
        !roles(&app, "ann.smith")
            .await
            .contains(&"SysAdmin".to_string()),
        "a look-alike of a mapped group maps to nothing"
    );

    // An emoji in a name is ordinary text; an invisible character's refusal names its code point.
    let mut person = account(&[], "Sales");
    person["given_name"] = json!("Ann \u{2764}\u{FE0F}");
    idp.set(json!({ "accounts": { "ann": person } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert_eq!(
        user(&app, "ann.smith").await.first_name,
        "Ann \u{2764}\u{FE0F}"
    );
    let mut person = account(&[], "Sales");
    person["given_name"] = json!("Ann\u{200B}");
    idp.set(json!({ "accounts": { "ann": person } }));
    let page = Browser::new().sign_in(&app, "ann").await;
    assert_refused(&page, 400, "U+200B");
}
