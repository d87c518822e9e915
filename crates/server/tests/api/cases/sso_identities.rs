//! Single sign-on findings of the fourth review of #17, against the real provider of `sso.rs`:
//! the refusal of an e-mail address another account holds says whose account it is (a local
//! one, one of another provider, another user of this provider), the administrator sees each
//! user's provider links (`federatedIdentities`, the users page), and the invisible characters
//! outside Unicode's Cf category are refused in claims as in names typed into Tessera.

use serde_json::{Value, json};
use tessera_server::sso::{SsoSection, SsoSettings};

use crate::cases::sso::{
    Browser, Idp, account, assert_refused, assert_signed_in, audit, spawn_throttled, user,
};
use crate::helpers::{TestApp, spawn_app_with};

/// An app with two providers at the same identity provider, `corp` and `other` (its client
/// knows both callbacks).
async fn spawn_two_providers(idp: &Idp) -> TestApp {
    let provider = |name: &str| {
        format!(
            r#"
[[providers]]
name = "{name}"
issuer = "{}"
client_id = "tessera"
client_secret = "tessera-client-secret"
scopes = ["openid", "profile", "email", "groups"]
"#,
            idp.issuer
        )
    };
    let text = format!("{}{}", provider("corp"), provider("other"));
    let section: SsoSection = toml::from_str(&text).unwrap();
    let sso = SsoSettings::parse(section).unwrap();
    spawn_app_with(move |c| {
        c.sso = sso;
        c.throttle.max_failures = 1000;
    })
    .await
}

/// A person at the provider with this user name and e-mail address.
fn person(user_name: &str, email: &str) -> Value {
    json!({ "preferred_username": user_name, "email": email, "email_verified": true, "groups": [] })
}

/// The newest `sso.refused` entry's reason and detail.
async fn last_refusal(app: &TestApp) -> (String, String) {
    let refused = audit(app, "sso.refused").await;
    let details = &refused.first().expect("an sso.refused entry").details;
    (
        details["reason"].as_str().unwrap().to_string(),
        details["detail"].as_str().unwrap().to_string(),
    )
}

/// Found by the fourth review: a second person of the same provider asserting another's
/// address was told it belonged to an account "that does not sign in with this provider".
#[tokio::test]
async fn an_email_clash_says_whether_the_holder_is_local_of_another_provider_or_of_this_one() {
    let idp = Idp::start(json!({ "accounts": {
        "ann": person("ann", "ann@corp.example"),
        "impostor": person("impostor", "ann@corp.example"),
        "carl": person("carl", "carl@example.com"),
    } }))
    .await;
    let app = spawn_two_providers(&idp).await;

    // Another user of this provider holds it.
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let page = Browser::new().sign_in(&app, "impostor").await;
    assert_refused(
        &page,
        403,
        "already belongs to another Tessera account that signs in with this identity provider",
    );
    let (reason, detail) = last_refusal(&app).await;
    assert_eq!(reason, "email-taken");
    assert!(
        detail.contains("with this identity provider") && !detail.contains("local"),
        "{detail}"
    );

    // A user of another provider holds it.
    let mut browser = Browser::new();
    let callback = browser
        .through_provider(&app, "other", "impostor", true)
        .await;
    let page = browser.get(&callback).await;
    assert_refused(
        &page,
        403,
        "already belongs to a Tessera account that signs in with the identity provider corp",
    );
    let (reason, detail) = last_refusal(&app).await;
    assert_eq!(reason, "email-taken");
    assert!(
        detail.contains("sign in with corp if that account is yours") && !detail.contains("local"),
        "{detail}"
    );

    // A local account holds it.
    app.admin_post(
        "/api/admin/v1/users",
        json!({ "userName": "carl", "email": "carl@example.com" }),
    )
    .await
    .assert_status(201);
    let page = Browser::new().sign_in(&app, "carl").await;
    assert_refused(&page, 403, "already belongs to a local Tessera account");
    let (reason, detail) = last_refusal(&app).await;
    assert_eq!(reason, "email-taken");
    assert!(!detail.contains("signs in with"), "{detail}");

    // The person whose address it is signs in again, through either provider's link of theirs.
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert_eq!(audit(&app, "sso.signin").await.len(), 2);
}

/// Found by the fourth review: the administrator could not see which provider account a user
/// stands for.
#[tokio::test]
async fn the_administrator_sees_each_users_provider_links_and_a_local_account_has_none() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn_throttled(&idp, 1000).await;
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let ann = user(&app, "ann.smith").await;

    let one = app
        .admin_get(&format!("/api/admin/v1/users/{}", ann.id))
        .await;
    one.assert_status(200);
    assert_eq!(
        one.body["federatedIdentities"],
        json!([{ "provider": "corp", "subject": "ann", "userName": "Ann.Smith" }])
    );
    let listed = app.admin_get("/api/admin/v1/users").await;
    let by_name = |name: &str| {
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["userName"] == name)
            .unwrap_or_else(|| panic!("{name} in {listed:?}"))["federatedIdentities"]
            .clone()
    };
    assert_eq!(by_name("ann.smith"), one.body["federatedIdentities"]);
    assert_eq!(by_name("admin"), json!([]), "a local account has no link");
    let local = app.create_user("bob", &[]).await;
    let bob = app.admin_get(&format!("/api/admin/v1/users/{local}")).await;
    assert_eq!(bob.body["federatedIdentities"], json!([]));
    // Every answer of the admin user API shows them, a change of roles included.
    let changed = app
        .admin_put(
            &format!("/api/admin/v1/users/{}/roles", ann.id),
            json!({ "roles": ["Practitioner", "Librarian"] }),
        )
        .await;
    changed.assert_status(200);
    assert_eq!(
        changed.body["user"]["federatedIdentities"][0]["provider"],
        "corp"
    );

    // The user name at the provider follows the provider, the subject stays.
    let mut renamed = account(&[], "Sales");
    renamed["preferred_username"] = json!("Ann.Jones");
    idp.set(json!({ "accounts": { "ann": renamed } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let one = app
        .admin_get(&format!("/api/admin/v1/users/{}", ann.id))
        .await;
    assert_eq!(
        one.body["federatedIdentities"],
        json!([{ "provider": "corp", "subject": "ann", "userName": "Ann.Jones" }])
    );

    // The users page of the web UI shows the same.
    let mut admin = crate::cases::ui::Browser::admin(&app).await;
    let page = admin.get("/ui/admin/users").await;
    assert_eq!(page.status, 200);
    let row = |name: &str| {
        let start = page
            .html
            .find(&format!("data-user=\"{name}\""))
            .unwrap_or_else(|| panic!("no row for {name}: {}", page.html));
        let end = start + page.html[start..].find("</tr>").unwrap();
        page.html[start..end].to_string()
    };
    let ann_row = row("ann.smith");
    assert!(
        ann_row.contains("corp") && ann_row.contains("Ann.Jones") && ann_row.contains("ann)"),
        "{ann_row}"
    );
    let bob_row = row("bob");
    assert!(
        bob_row.contains("Password (local account)") && !bob_row.contains("corp"),
        "{bob_row}"
    );
}

/// Found by the fourth review: invisible characters outside Unicode's Cf category (fillers,
/// the combining grapheme joiner, variation selectors, the braille blank) passed into claims.
#[tokio::test]
async fn fillers_variation_selectors_and_blanks_in_claims_are_refused_naming_the_claim() {
    let idp = Idp::start(json!({ "accounts": {} })).await;
    let app = spawn_throttled(&idp, 1000).await;
    for (claim, value) in [
        ("given_name", json!("\u{3164}")),
        ("family_name", json!("Smith\u{034F}")),
        ("preferred_username", json!("ann\u{FE0F}")),
        ("department", json!("Sales\u{2800}")),
        ("given_name", json!("A\u{E0100}nn")),
        ("family_name", json!("Sm\u{200D}ith")),
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
    // A Persian name with its zero-width non-joiner signs in.
    let mut person = account(&[], "Sales");
    person["given_name"] = json!("\u{0645}\u{0647}\u{0631}\u{200C}\u{0646}\u{0627}\u{0632}");
    idp.set(json!({ "accounts": { "ann": person } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert_eq!(
        user(&app, "ann.smith").await.first_name,
        "\u{0645}\u{0647}\u{0631}\u{200C}\u{0646}\u{0627}\u{0632}"
    );
}
