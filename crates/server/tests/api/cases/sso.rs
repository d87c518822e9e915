//! Single sign-on against a real OpenID provider: `oidc-provider` from npm (e2e/oidc-idp.mjs)
//! on loopback. The tests drive the whole code flow over HTTP (redirects, the provider's login
//! and consent forms) and check the just-in-time user, roles and organisations from groups,
//! PATs revoked by a role change, attributes in an exchanged JWT, and every refusal: forged or
//! replayed callbacks, an ID token with the wrong nonce or audience, denied consent, an
//! unreachable provider, a local account's e-mail, a deactivated user, passwords switched off.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::Url;
use serde_json::{Value, json};
use tessera_core::audit::AuditQuery;
use tessera_core::names::UserName;
use tessera_core::realm::claims::ClaimMapper;
use tessera_server::sso::{SsoSection, SsoSettings};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cases::realm::{access_token, verify_with_jwks};
use crate::helpers::{ADMIN_PASSWORD, Auth, TestApp, operator_token, spawn_app_with};

/// The provider process; killed when dropped.
pub(crate) struct Idp {
    pub(crate) issuer: String,
    state_file: PathBuf,
    _dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

impl Idp {
    pub(crate) async fn start(state: Value) -> Idp {
        let dir = tempfile::tempdir().unwrap();
        let state_file = dir.path().join("idp.json");
        std::fs::write(&state_file, state.to_string()).unwrap();
        let e2e = tessera_testkit::e2e_packages();
        let mut child = tokio::process::Command::new("node")
            .arg(e2e.join("oidc-idp.mjs"))
            .arg(&state_file)
            .current_dir(&e2e)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs e2e/oidc-idp.mjs (npm ci in e2e/ installs oidc-provider)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the provider starts within 30 s")
            .unwrap()
            .expect("the provider prints its issuer");
        let issuer = line.strip_prefix("listening ").unwrap().to_string();
        // Keep reading: a closed pipe would kill the provider at its next line of output.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Idp {
            issuer,
            state_file,
            _dir: dir,
            _child: child,
        }
    }

    pub(crate) fn set(&self, state: Value) {
        std::fs::write(&self.state_file, state.to_string()).unwrap();
    }

    /// How many requests the provider's `endpoint` (`"token"`, `"userinfo"`, `"discovery"`,
    /// `"jwks"`) had so far.
    pub(crate) async fn requests(&self, endpoint: &str) -> u64 {
        let counts: Value = reqwest::get(format!(
            "{}/_test/counts",
            self.issuer.trim_end_matches('/')
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        counts[endpoint]
            .as_u64()
            .unwrap_or_else(|| panic!("no count of {endpoint}: {counts}"))
    }
}

pub(crate) fn account(groups: &[&str], department: &str) -> Value {
    json!({
        "preferred_username": "Ann.Smith",
        "email": "ann@corp.example",
        "email_verified": true,
        "given_name": "Ann",
        "family_name": "Smith",
        "groups": groups,
        "department": department,
    })
}

pub(crate) fn sso_settings(issuer: &str, extra: &str) -> SsoSettings {
    let text = format!(
        r#"
{extra}
[[providers]]
name = "corp"
issuer = "{issuer}"
client_id = "tessera"
client_secret = "tessera-client-secret"
scopes = ["openid", "profile", "email", "groups"]
attributes = {{ department = "department" }}
role_mapping = {{ "data-admins" = "SysAdmin", "data-scientists" = "Practitioner", "librarians" = "Librarian" }}
organization_mapping = {{ "team-churn" = "churn" }}

[[providers]]
name = "down"
issuer = "http://127.0.0.1:9"
client_id = "tessera"
client_secret = "x"
"#
    );
    let section: SsoSection = toml::from_str(&text).unwrap();
    SsoSettings::parse(section).unwrap()
}

pub(crate) async fn spawn_with_idp(idp: &Idp, extra: &str) -> TestApp {
    spawn_with_issuer(&idp.issuer, extra).await
}

/// [`spawn_with_idp`] with the provider's issuer configured as `issuer` (which may differ from
/// the one the provider states, for the refusal tests).
pub(crate) async fn spawn_with_issuer(issuer: &str, extra: &str) -> TestApp {
    let sso = sso_settings(issuer, extra);
    let mappers = vec![
        ClaimMapper::parse_with(
            "org.department",
            "attribute:department",
            &sso.attribute_names(),
        )
        .unwrap(),
    ];
    spawn_app_with(move |c| {
        c.sso = sso;
        c.realm.mappers = mappers;
    })
    .await
}

/// A browser: one cookie jar for Tessera and the provider, absolute URLs.
pub(crate) type Browser = crate::browser::Jar;
pub(crate) use crate::browser::Page;

impl Browser {
    /// Starts at Tessera's "Sign in with <provider>" link and goes through the provider's pages
    /// (logging in as `login`, accepting or, with `consent = false`, cancelling) until the
    /// provider sends the browser back to Tessera's callback, which is returned unvisited.
    pub(crate) async fn through_provider(
        &mut self,
        app: &TestApp,
        provider: &str,
        login: &str,
        consent: bool,
    ) -> String {
        let mut url = format!("{}/ui/sso/{provider}/login", app.address);
        for _ in 0..20 {
            if url.starts_with(&app.address) && url.contains("/callback") {
                return url;
            }
            let page = self.get(&url).await;
            if let Some(next) = page.location {
                url = next;
                continue;
            }
            assert_eq!(page.status, 200, "{url}: {}", page.html);
            let action = Url::parse(&url)
                .unwrap()
                .join(&attribute(&page.html, "form", "action"))
                .unwrap();
            let next = if page.html.contains(r#"name="prompt" value="login""#) {
                self.post(
                    action.as_str(),
                    &[("prompt", "login"), ("login", login), ("password", "any")],
                )
                .await
            } else if consent {
                self.post(action.as_str(), &[("prompt", "consent")]).await
            } else {
                self.get(&format!("{action}/abort")).await
            };
            url = next
                .location
                .unwrap_or_else(|| panic!("{url}: no redirect after the form: {}", next.html));
        }
        panic!("the flow did not come back to Tessera");
    }

    /// A whole sign-in; returns the callback's page (a redirect with the session, or a refusal).
    pub(crate) async fn sign_in(&mut self, app: &TestApp, login: &str) -> Page {
        let callback = self.through_provider(app, "corp", login, true).await;
        self.get(&callback).await
    }
}

/// The value of the first `attr` of the first `<tag`.
pub(crate) fn attribute(html: &str, tag: &str, attr: &str) -> String {
    let start = html
        .find(&format!("<{tag}"))
        .unwrap_or_else(|| panic!("no <{tag} in {html}"));
    let rest = &html[start..];
    let marker = format!("{attr}=\"");
    let from = rest.find(&marker).unwrap() + marker.len();
    rest[from..from + rest[from..].find('"').unwrap()].replace("&amp;", "&")
}

pub(crate) fn with_query(url: &str, key: &str, value: &str) -> String {
    let mut parsed = Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .filter(|(k, _)| k != key)
        .collect();
    parsed
        .query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(key, value);
    parsed.to_string()
}

/// `url` without its query parameter `key`.
pub(crate) fn without_query(url: &str, key: &str) -> String {
    let mut parsed = Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .filter(|(k, _)| k != key)
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

/// `callback` as the provider sends it back after an error (RFC 6749 §4.1.2.1): `error` and
/// `error_description` in place of the code.
pub(crate) fn provider_error(callback: &str, error: &str, description: &str) -> String {
    with_query(
        &with_query(callback, "error", error),
        "error_description",
        description,
    )
}

/// An app signed in through `idp` (no extra settings) whose failure throttle allows
/// `max_failures` refusals per address.
pub(crate) async fn spawn_throttled(idp: &Idp, max_failures: u32) -> TestApp {
    let sso = sso_settings(&idp.issuer, "");
    spawn_app_with(move |c| {
        c.sso = sso;
        c.throttle.max_failures = max_failures;
    })
    .await
}

pub(crate) async fn user(app: &TestApp, name: &str) -> tessera_core::model::User {
    app.state
        .store
        .principal_by_name(&UserName::parse("u", name).unwrap())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no user {name}"))
}

pub(crate) async fn roles(app: &TestApp, name: &str) -> Vec<String> {
    user(app, name)
        .await
        .roles
        .iter()
        .map(|r| r.as_str().to_string())
        .collect()
}

pub(crate) async fn audit(app: &TestApp, action: &str) -> Vec<tessera_core::audit::AuditEntry> {
    app.state
        .store
        .list_audit(&AuditQuery {
            action: Some(action.into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items
}

pub(crate) fn assert_signed_in(page: &Page) {
    assert_eq!(page.status, 303, "{}", page.html);
    assert!(
        page.location
            .as_deref()
            .unwrap_or("")
            .ends_with("/ui/account"),
        "{:?}",
        page.location
    );
    assert!(
        page.set_cookies
            .iter()
            .any(|c| c.starts_with("tessera_session=") && !c.contains("Max-Age=0"))
    );
}

pub(crate) fn assert_refused(page: &Page, status: u16, says: &str) {
    assert_eq!(page.status, status, "{}", page.html);
    assert!(
        page.html.contains(says),
        "expected {says:?} in {}",
        page.html
    );
    assert!(
        !page
            .set_cookies
            .iter()
            .any(|c| c.starts_with("tessera_session=")),
        "no session on a refusal"
    );
}

#[tokio::test]
async fn a_first_sign_in_creates_the_user_with_roles_and_organizations_from_groups() {
    let idp = Idp::start(
        json!({ "accounts": { "ann": account(&["data-admins", "team-churn"], "Sales") } }),
    )
    .await;
    let app = spawn_with_idp(&idp, "").await;
    let mut browser = Browser::new();
    let login = browser.get(&format!("{}/ui/login", app.address)).await;
    assert!(login.html.contains("Sign in with corp"), "{}", login.html);
    assert!(login.html.contains(r#"href="/ui/sso/corp/login"#));

    let page = browser.sign_in(&app, "ann").await;
    assert_signed_in(&page);
    let account_page = browser.get(&format!("{}/ui/account", app.address)).await;
    assert_eq!(account_page.status, 200, "the session works");
    assert!(account_page.html.contains("ann.smith"));

    let ann = user(&app, "ann.smith").await;
    assert_eq!(roles(&app, "ann.smith").await, ["SysAdmin", "Practitioner"]);
    assert_eq!(
        ann.email.as_ref().map(|e| e.as_str()),
        Some("ann@corp.example")
    );
    assert_eq!(
        (ann.first_name.as_str(), ann.last_name.as_str()),
        ("Ann", "Smith")
    );
    let orgs = app.state.store.organization_names_of(ann.id).await.unwrap();
    assert_eq!(
        orgs,
        ["churn"],
        "the mapped organisation is created and joined"
    );
    let signins = audit(&app, "sso.signin").await;
    assert_eq!(signins.len(), 1);
    assert_eq!(signins[0].actor.user_name.as_deref(), Some("sso:corp"));
    assert_eq!(signins[0].details["created"], true);
    let created = audit(&app, "user.created").await;
    assert!(
        created
            .iter()
            .any(|e| e.actor.user_name.as_deref() == Some("sso:corp"))
    );

    // The same name at another provider account gets a number, never the same user.
    let mut other = Browser::new();
    idp.set(json!({ "accounts": {
        "ann": account(&["data-admins", "team-churn"], "Sales"),
        "ann2": { "preferred_username": "ann.smith", "groups": [] },
    } }));
    assert_signed_in(&other.sign_in(&app, "ann2").await);
    assert_eq!(
        roles(&app, "ann.smith-2").await,
        ["Practitioner"],
        "no mapped group: only the default role"
    );
}

#[tokio::test]
async fn a_later_sign_in_after_a_group_change_changes_roles_revokes_pats_and_keeps_manual_memberships()
 {
    let idp = Idp::start(
        json!({ "accounts": { "ann": account(&["data-admins", "team-churn"], "Sales") } }),
    )
    .await;
    let app = spawn_with_idp(&idp, "").await;
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let pat = operator_token(&app.state, "ann.smith", "laptop").await;
    app.assert_whoami(Auth::Bearer(&pat), 200).await;
    let manual = app
        .admin_post(
            "/api/organizations/v1/organizations",
            json!({ "name": "manual" }),
        )
        .await;
    manual.assert_status(201);
    let manual_id = manual.body["id"].as_str().unwrap();
    app.admin_post(
        &format!("/api/organizations/v1/organizations/{manual_id}/members"),
        json!({ "userName": "ann.smith" }),
    )
    .await
    .assert_status(200);

    // The same sign-in again changes nothing: the PAT stays.
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    app.assert_whoami(Auth::Bearer(&pat), 200).await;

    idp.set(json!({ "accounts": { "ann": account(&["librarians"], "Sales") } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert_eq!(
        roles(&app, "ann.smith").await,
        ["Practitioner", "Librarian"]
    );
    app.assert_whoami(Auth::Bearer(&pat), 401).await;
    let ann = user(&app, "ann.smith").await;
    let orgs = app.state.store.organization_names_of(ann.id).await.unwrap();
    assert_eq!(
        orgs,
        ["manual"],
        "the provider's membership goes, the administrator's stays"
    );
    let revoked = audit(&app, "pat.revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        revoked[0].actor.user_name.as_deref(),
        Some("sso:corp"),
        "the provider is the actor"
    );
    let removed = audit(&app, "organization.member-removed").await;
    assert_eq!(removed[0].actor.user_name.as_deref(), Some("sso:corp"));

    // Out of every mapped group: nothing beyond the default role.
    idp.set(json!({ "accounts": { "ann": account(&[], "Sales") } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert_eq!(roles(&app, "ann.smith").await, ["Practitioner"]);
}

/// Found by the review of #17: a membership the provider made, then taken over by an
/// administrator (removed and added back by hand, or added by hand while it existed), is the
/// administrator's: a later sign-in without the group leaves it.
#[tokio::test]
async fn a_membership_an_administrator_adds_by_hand_is_theirs_not_the_providers() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&["team-churn"], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let ann = user(&app, "ann.smith").await;
    assert_eq!(
        app.state.store.organization_names_of(ann.id).await.unwrap(),
        ["churn"]
    );
    let members = first_organizations_members(&app).await;
    app.admin_delete(&format!("{members}/{}", ann.id))
        .await
        .assert_status(200);
    app.admin_post(&members, json!({ "userName": "ann.smith" }))
        .await
        .assert_status(200);

    idp.set(json!({ "accounts": { "ann": account(&[], "Sales") } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert_eq!(
        app.state.store.organization_names_of(ann.id).await.unwrap(),
        ["churn"],
        "the administrator's membership was removed by a sign-in"
    );
    let removed = audit(&app, "organization.member-removed").await;
    assert!(
        removed
            .iter()
            .all(|e| e.actor.user_name.as_deref() != Some("sso:corp")),
        "the provider removed a membership it no longer owns"
    );
}

/// The members path of the first organisation listed (the only one, in these tests).
async fn first_organizations_members(app: &TestApp) -> String {
    let listed = app.admin_get("/api/organizations/v1/organizations").await;
    let id = listed.body.as_array().unwrap()[0]["id"].as_str().unwrap();
    format!("/api/organizations/v1/organizations/{id}/members")
}

/// Found by the fifth review: an administrator's add refused as "already a member" (409) took a
/// membership the provider made as the administrator's, so the person kept the organisation after
/// the provider removed them from its group.
#[tokio::test]
async fn an_add_refused_as_already_a_member_leaves_the_providers_membership_to_the_provider() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&["team-churn"], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let ann = user(&app, "ann.smith").await;
    let members = first_organizations_members(&app).await;
    let refused = app
        .admin_post(&members, json!({ "userName": "ann.smith" }))
        .await;
    refused.assert_status(409);
    // The refusal says whose membership it is (found by the sixth review).
    assert!(
        refused
            .error()
            .contains("through the group mapping of the identity provider corp"),
        "{refused:?}"
    );

    idp.set(json!({ "accounts": { "ann": account(&[], "Sales") } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    assert!(
        app.state
            .store
            .organization_names_of(ann.id)
            .await
            .unwrap()
            .is_empty(),
        "the provider's membership outlived the group"
    );
    let removed = audit(&app, "organization.member-removed").await;
    assert!(
        removed
            .iter()
            .any(|e| e.actor.user_name.as_deref() == Some("sso:corp")),
        "the provider's removal is audited"
    );

    // The other side: a membership the administrator made is refused without naming a provider.
    app.admin_post(&members, json!({ "userName": "ann.smith" }))
        .await
        .assert_status(200);
    let refused = app
        .admin_post(&members, json!({ "userName": "ann.smith" }))
        .await;
    refused.assert_status(409);
    assert!(
        refused.error().contains("already a member") && !refused.error().contains("provider"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn attributes_from_the_provider_reach_an_exchanged_jwt_through_a_claim_mapper() {
    let idp =
        Idp::start(json!({ "accounts": { "ann": account(&["data-scientists"], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let pat = operator_token(&app.state, "ann.smith", "laptop").await;
    let claims = verify_with_jwks(&app, &access_token(&app, &pat).await).await;
    assert_eq!(claims["org"]["department"], "Sales");

    idp.set(json!({ "accounts": { "ann": account(&["data-scientists"], "Research") } }));
    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    app.assert_whoami(Auth::Bearer(&pat), 200).await;
    let claims = verify_with_jwks(&app, &access_token(&app, &pat).await).await;
    assert_eq!(
        claims["org"]["department"], "Research",
        "refreshed at sign-in, never a stale token"
    );
    let changed = audit(&app, "user.attributes-changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].details["after"]["department"], "Research");
}

#[tokio::test]
async fn forged_and_replayed_callbacks_are_refused() {
    let idp =
        Idp::start(json!({ "accounts": { "ann": account(&["data-admins"], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;

    // Another state than the one this browser's flow made.
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let page = browser
        .get(&with_query(&callback, "state", "forged-state"))
        .await;
    assert_refused(&page, 400, "state mismatch");

    // A callback presented in a browser that never started the flow (login CSRF).
    let mut victim = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    assert_refused(
        &victim.get(&callback).await,
        400,
        "did not start in this browser",
    );

    // A replay of a callback that already signed someone in, flow cookie included.
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let flow_cookie = browser.cookies["tessera_sso"].clone();
    assert_signed_in(&browser.get(&callback).await);
    let mut attacker = Browser::new();
    attacker.cookies.insert("tessera_sso".into(), flow_cookie);
    assert_refused(&attacker.get(&callback).await, 400, "already used");

    // A code the provider never issued, in a genuine flow: the provider refuses it.
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    let page = browser
        .get(&with_query(&callback, "code", "forged-code"))
        .await;
    assert_refused(&page, 400, "refused this sign-in code");

    // ID tokens the provider should never have sent: another nonce, another audience.
    for (claim, value) in [("nonce", "forged-nonce"), ("aud", "someone-else")] {
        idp.set(json!({
            "accounts": { "ann": account(&["data-admins"], "Sales") },
            "misbehave": { "id_token": { claim: value } },
        }));
        let page = Browser::new().sign_in(&app, "ann").await;
        assert_refused(&page, 400, "could not be verified");
    }
    let refused = audit(&app, "sso.refused").await;
    let reasons: Vec<&str> = refused
        .iter()
        .filter_map(|e| e.details["reason"].as_str())
        .collect();
    for reason in [
        "state-mismatch",
        "no-flow",
        "replayed",
        "code-refused",
        "invalid-id-token",
    ] {
        assert!(
            reasons.contains(&reason),
            "{reason} not audited in {reasons:?}"
        );
    }
    assert_eq!(
        audit(&app, "sso.signin").await.len(),
        1,
        "only the genuine sign-in"
    );
}

#[tokio::test]
async fn new_signing_keys_of_the_provider_are_fetched_again() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;
    // Discovery (and the key set) is fetched when the flow starts; the provider then rotates
    // and signs the ID token with a key that set did not have.
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", true).await;
    idp.set(json!({
        "accounts": { "ann": account(&[], "Sales") },
        "misbehave": { "rotate_key": true },
    }));
    assert_signed_in(&browser.get(&callback).await);
}

#[tokio::test]
async fn denied_consent_an_unreachable_provider_and_an_unknown_one_are_explained() {
    let idp = Idp::start(json!({ "accounts": { "ann": account(&[], "Sales") } })).await;
    let app = spawn_with_idp(&idp, "").await;
    let mut browser = Browser::new();
    let callback = browser.through_provider(&app, "corp", "ann", false).await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    assert_refused(&browser.get(&callback).await, 403, "did not allow Tessera");

    let page = Browser::new()
        .get(&format!("{}/ui/sso/down/login", app.address))
        .await;
    assert_refused(&page, 502, "cannot reach the identity provider down");
    let page = Browser::new()
        .get(&format!("{}/ui/sso/nope/login", app.address))
        .await;
    assert_eq!(page.status, 404);
    let reasons: Vec<String> = audit(&app, "sso.refused")
        .await
        .iter()
        .filter_map(|e| e.details["reason"].as_str().map(String::from))
        .collect();
    assert!(
        reasons.contains(&"access-denied".to_string())
            && reasons.contains(&"provider-unreachable".to_string()),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn the_email_of_a_local_account_is_never_linked_silently_and_deactivated_users_stay_out() {
    let idp = Idp::start(json!({ "accounts": {
        "bob": { "preferred_username": "bobby", "email": "bob@example.com", "groups": ["data-admins"] },
        "ann": account(&[], "Sales"),
    } }))
    .await;
    let app = spawn_with_idp(&idp, "").await;
    app.create_user("bob", &["Practitioner"]).await;
    let page = Browser::new().sign_in(&app, "bob").await;
    assert_refused(&page, 403, "already belongs to a local Tessera account");
    // Third review: the page promised a linking that does not exist; it names what an
    // administrator can do.
    assert!(
        page.html
            .contains("an administrator can change that account")
            && !page.html.contains("link or rename"),
        "{}",
        page.html
    );
    assert_eq!(
        roles(&app, "bob").await,
        ["Practitioner"],
        "the local account is untouched"
    );
    assert!(
        app.state
            .store
            .principal_by_name(&UserName::parse("u", "bobby").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    assert_signed_in(&Browser::new().sign_in(&app, "ann").await);
    let ann = user(&app, "ann.smith").await;
    app.admin_post_empty(&format!("/api/admin/v1/users/{}/deactivate", ann.id))
        .await
        .assert_status(200);
    assert_refused(
        &Browser::new().sign_in(&app, "ann").await,
        403,
        "deactivated",
    );
    let reasons: Vec<String> = audit(&app, "sso.refused")
        .await
        .iter()
        .filter_map(|e| e.details["reason"].as_str().map(String::from))
        .collect();
    assert!(
        reasons.contains(&"email-taken".into()) && reasons.contains(&"deactivated".into()),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn with_local_login_off_only_the_break_glass_administrator_uses_a_password() {
    let idp = Idp::start(json!({ "accounts": {} })).await;
    let app = spawn_with_idp(&idp, "local_login = false\nbreak_glass_admin = \"admin\"").await;
    crate::cases::ui::user_with_password(&app, "carol", "carol-password-long-enough").await;
    let mut browser = crate::cases::ui::Browser::new(&app);
    let page = browser.get("/ui/login").await;
    assert!(page.html.contains("Sign in with corp"));
    assert!(
        page.html.contains("<details"),
        "the password form is tucked away"
    );
    // Refused as a wrong password is, so that the administrator's name cannot be found out.
    let refused = browser.login("carol", "carol-password-long-enough").await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.html.contains("Incorrect username or password"),
        "{}",
        refused.html
    );
    let admin = browser.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(admin.status, 303, "{}", admin.html);
}
