//! The web UI over HTTP: login (and its refusals), the session cookie, CSRF refusals from both
//! sides, the PAT panel's actions, the API key page, logout and deactivation ending sessions.
//! The same flows run in a real browser in `crates/cli/tests/browser.rs`.

use serde_json::json;

use crate::browser::{Jar, Page};
use crate::helpers::{ADMIN_PASSWORD, Auth, TestApp, spawn_app, spawn_app_with};

/// A browser without JavaScript on the app: paths relative to it, the page as a person reads
/// it (entities unescaped), locations as the server sent them.
pub struct Browser<'a> {
    app: &'a TestApp,
    pub jar: Jar,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            jar: Jar::new(),
        }
    }

    /// A browser signed in as the bootstrap administrator.
    pub async fn admin(app: &'a TestApp) -> Browser<'a> {
        let mut browser = Browser::new(app);
        let signed_in = browser.login("admin", ADMIN_PASSWORD).await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.html);
        browser
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let mut page = self.jar.send(request).await;
        page.html = unescape(&page.html);
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.jar.client().get(format!("{}{path}", self.app.address));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self
            .jar
            .client()
            .post(format!("{}{path}", self.app.address))
            .form(form);
        self.send(request).await
    }

    pub async fn login(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/ui/login").await;
        let csrf = hidden(&form.html, "csrf");
        self.post(
            "/ui/login",
            &[
                ("csrf", &csrf),
                ("username", user),
                ("password", password),
                ("next", ""),
            ],
        )
        .await
    }

    /// The CSRF token of the account page's forms.
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/ui/account").await;
        assert_eq!(page.status, 200, "{}", page.html);
        hidden(&page.html, "csrf")
    }
}

/// The page as a person reads it: the templates escape `/`, quotes and brackets as entities.
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the first hidden input named `name`.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

pub async fn user_with_password(app: &TestApp, name: &str, password: &str) -> String {
    let id = app.create_user(name, &["Practitioner"]).await;
    app.admin_post(
        &format!("/api/admin/v1/users/{id}/password"),
        json!({ "password": password }),
    )
    .await
    .assert_status(204);
    id
}

#[tokio::test]
async fn the_servers_address_and_the_ui_with_or_without_a_slash_lead_to_the_login_page() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    for path in ["/", "/ui", "/ui/"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.location.as_deref(), Some("/ui/account"), "{path}");
    }
    let login = browser.get("/ui/account").await;
    assert_eq!(
        login.location.as_deref(),
        Some("/ui/login?next=/ui/account")
    );
    // Signed in, the same addresses lead to the account page itself.
    browser.login("admin", ADMIN_PASSWORD).await;
    let account = browser.get("/ui/account").await;
    assert_eq!(account.status, 200);
    for words in [
        "Token name",
        "Token Expiration",
        "Create token",
        "Generate new Token",
    ] {
        assert!(
            account.html.contains(words),
            "{words} missing on the PAT form"
        );
    }
    // Other paths are still the API's 404, not the UI.
    let other = app
        .client
        .get(format!("{}/nothing-here", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
}

#[tokio::test]
async fn a_session_check_failing_in_the_store_answers_the_apis_status_not_always_unavailable() {
    let app = spawn_app().await;
    let mut browser = Browser::admin(&app).await;
    assert_eq!(browser.get("/ui/account").await.status, 200);
    // The sessions' table gone from under the server: a store failure that is not the database
    // being unreachable is a 500, as the API answers it, not "try again in a moment" (503).
    app.sql("ALTER TABLE web_sessions RENAME TO web_sessions_gone")
        .await;
    let broken = browser.get("/ui/account").await;
    assert_eq!(broken.status, 500, "{}", broken.html);
    assert!(
        !broken.html.contains("web_sessions"),
        "no database text on the page: {}",
        broken.html
    );
    // Put back, the same session is good again.
    app.sql("ALTER TABLE web_sessions_gone RENAME TO web_sessions")
        .await;
    assert_eq!(browser.get("/ui/account").await.status, 200);
}

#[tokio::test]
async fn logging_in_sets_a_protected_session_cookie_and_wrong_passwords_are_refused_alike() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let away = browser.get("/ui/account").await;
    assert_eq!(away.status, 303);
    assert_eq!(away.location.as_deref(), Some("/ui/login?next=/ui/account"));

    // A NUL character, which PostgreSQL cannot compare, is the visitor's error on both backends
    // (400 on PostgreSQL, no such user on SQLite), never "the database is down".
    let nul = browser.login("ad\u{0}min", ADMIN_PASSWORD).await;
    assert!(
        matches!(nul.status.as_u16(), 400 | 401),
        "{} {}",
        nul.status,
        nul.html
    );

    for (user, password) in [("admin", "wrong password"), ("nobody", ADMIN_PASSWORD)] {
        let refused = browser.login(user, password).await;
        assert_eq!(refused.status, 401);
        assert!(refused.html.contains("Incorrect username or password."));
        assert!(
            refused.html.contains(&format!("value=\"{user}\"")),
            "what was typed is kept"
        );
        assert!(
            !refused
                .set_cookies
                .iter()
                .any(|c| c.starts_with("tessera_session="))
        );
    }

    let ok = browser.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    assert_eq!(ok.location.as_deref(), Some("/ui/account"));
    let cookie = ok
        .set_cookies
        .iter()
        .find(|c| c.starts_with("tessera_session=tses_"))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/ui", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http: no Secure attribute"
    );
    let account = browser.get("/ui/account").await;
    assert_eq!(account.status, 200);
    assert!(account.html.contains("admin") && account.html.contains("Personal Access Token"));

    let logins = app
        .admin_get("/api/admin/v1/audit?action=user.logged-in")
        .await;
    assert_eq!(logins.body.as_array().unwrap().len(), 1, "{logins:?}");
    assert_eq!(logins.body[0]["actor"]["ip"], "127.0.0.1");
    assert!(!logins.body.to_string().contains("tses_"));

    // The session secret is no API credential.
    let secret = browser.jar.cookies["tessera_session"].clone();
    app.send(
        reqwest::Method::GET,
        "/v4/users/self",
        Auth::Bearer(&secret),
        None,
    )
    .await
    .assert_status(401);
}

#[tokio::test]
async fn service_accounts_and_deactivated_users_cannot_log_in_and_deactivation_ends_sessions() {
    let app = spawn_app().await;
    let id = user_with_password(&app, "jane", "jane-password-123").await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.login("jane", "jane-password-123").await.status, 303);
    assert_eq!(browser.get("/ui/account").await.status, 200);

    // A new password logs out whoever knew the old one.
    app.admin_post(
        &format!("/api/admin/v1/users/{id}/password"),
        json!({ "password": "jane-new-password-1" }),
    )
    .await
    .assert_status(204);
    assert_eq!(
        browser.get("/ui/account").await.status,
        303,
        "a session outlived the password"
    );
    assert_eq!(browser.login("jane", "jane-password-123").await.status, 401);
    assert_eq!(
        browser.login("jane", "jane-new-password-1").await.status,
        303
    );
    assert_eq!(browser.get("/ui/account").await.status, 200);

    app.admin_post(&format!("/api/admin/v1/users/{id}/deactivate"), json!({}))
        .await;
    let after = browser.get("/ui/account").await;
    assert_eq!(
        after.status, 303,
        "a deactivated user's session still works"
    );
    let mut again = Browser::new(&app);
    assert_eq!(again.login("jane", "jane-password-123").await.status, 401);

    let created = app
        .admin_post(
            "/api/serviceAccounts/v1/serviceAccounts",
            json!({ "username": "pipeline", "description": "ci" }),
        )
        .await;
    created.assert_status(201);
    assert_eq!(Browser::new(&app).login("pipeline", "").await.status, 401);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let mut browser = Browser::admin(&app).await;
    let csrf = browser.csrf().await;
    let mut other = Browser::admin(&app).await;
    let others_csrf = other.csrf().await;
    assert_ne!(csrf, others_csrf, "each session has its own token");

    for wrong in ["", "0000", others_csrf.as_str()] {
        let refused = browser
            .post(
                "/ui/account/tokens",
                &[("csrf", wrong), ("name", "sneaky"), ("expires_in", "")],
            )
            .await;
        assert_eq!(refused.status, 403, "{wrong:?}");
        let refused = browser.post("/ui/logout", &[("csrf", wrong)]).await;
        assert_eq!(refused.status, 403);
    }
    let listed = app.admin_get("/api/pat/v1/tokens").await;
    assert!(!listed.body.to_string().contains("sneaky"));

    let made = browser
        .post(
            "/ui/account/tokens",
            &[
                ("csrf", &csrf),
                ("name", "laptop"),
                ("description", "my laptop"),
                ("expires_in", "604800"),
            ],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.html);

    // Login has its own double-submitted token.
    let mut fresh = Browser::new(&app);
    let page = fresh
        .post(
            "/ui/login",
            &[
                ("csrf", "x"),
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
}

#[tokio::test]
async fn a_generated_token_is_shown_once_works_and_is_revoked_and_deleted_from_the_menu() {
    let app = spawn_app().await;
    let mut browser = Browser::admin(&app).await;
    let csrf = browser.csrf().await;
    let made = browser
        .post(
            "/ui/account/tokens",
            &[
                ("csrf", &csrf),
                ("name", "laptop"),
                ("description", ""),
                ("expires_in", "2592000"),
            ],
        )
        .await;
    assert_eq!(made.status, 201);
    let token = hidden_value(&made.html, "new-token");
    assert!(token.starts_with("tpat_"));
    assert!(made.html.contains("will not be shown again"));
    app.send(
        reqwest::Method::GET,
        "/v4/users/self",
        Auth::Bearer(&token),
        None,
    )
    .await
    .assert_status(200);
    let later = browser.get("/ui/account").await;
    assert!(
        !later.html.contains(&token),
        "the token is shown a second time"
    );
    assert!(later.html.contains("laptop") && later.html.contains("Expires "));

    let id = app
        .admin_get("/api/pat/v1/tokens")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "laptop")
        .unwrap()["patId"]
        .as_str()
        .unwrap()
        .to_string();
    let revoked = browser
        .post(
            &format!("/ui/account/tokens/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303);
    let page = browser.get(revoked.location.as_deref().unwrap()).await;
    assert!(page.html.contains("Token revoked."));
    assert!(page.html.contains("badge revoked"), "{}", page.html);
    app.send(
        reqwest::Method::GET,
        "/v4/users/self",
        Auth::Bearer(&token),
        None,
    )
    .await
    .assert_status(401);
    let deleted = browser
        .post(
            &format!("/ui/account/tokens/{id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert!(
        !browser
            .get("/ui/account")
            .await
            .html
            .contains("data-token=\"laptop\"")
    );

    // Someone else's token is not found through the page.
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let theirs = app.create_pat(&jane, "theirs", 3600).await;
    let refused = browser
        .post(
            &format!(
                "/ui/account/tokens/{}/revoke",
                theirs["patId"].as_str().unwrap()
            ),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, 404);
    app.send(
        reqwest::Method::GET,
        "/v4/users/self",
        Auth::Bearer(theirs["token"].as_str().unwrap()),
        None,
    )
    .await
    .assert_status(200);
}

/// The `href` of the link with `rel` on a page (HTML-escaped `&` read back).
pub fn link(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!("rel=\"{rel}\""))?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&amp;", "&"))
}

/// The value attribute of the input with this id.
pub fn hidden_value(html: &str, id: &str) -> String {
    let start = html.find(&format!("id=\"{id}\"")).unwrap();
    let rest = &html[start..];
    let v = rest.find("value=\"").unwrap() + 7;
    rest[v..v + rest[v..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn form_errors_are_shown_beside_the_field_with_what_was_typed() {
    let app = spawn_app().await;
    let mut browser = Browser::admin(&app).await;
    let csrf = browser.csrf().await;
    let page = browser
        .post(
            "/ui/account/tokens",
            &[
                ("csrf", &csrf),
                ("name", ""),
                ("description", "kept text"),
                ("expires_in", "604800"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.html.contains("id=\"pat-name-error\""), "{}", page.html);
    assert!(page.html.contains("value=\"kept text\""));
    let page = browser
        .post(
            "/ui/account/tokens",
            &[
                ("csrf", &csrf),
                ("name", "x"),
                ("expires_in", "999999999999"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.html.contains("id=\"pat-expiration-error\""),
        "{}",
        page.html
    );
    assert!(page.html.contains("value=\"x\""));
}

#[tokio::test]
async fn the_api_key_is_shown_once_with_its_deprecation_and_logout_ends_the_session() {
    let app = spawn_app().await;
    let mut browser = Browser::admin(&app).await;
    let page = browser.get("/ui/account/api-key").await;
    assert!(page.html.contains("Deprecated"));
    let csrf = hidden(&page.html, "csrf");
    let made = browser
        .post("/ui/account/api-key", &[("csrf", &csrf)])
        .await;
    assert_eq!(made.status, 201);
    let key = hidden_value(&made.html, "new-key");
    assert!(key.starts_with("tkey_"));
    app.send(
        reqwest::Method::GET,
        "/v4/users/self",
        Auth::ApiKey(&key),
        None,
    )
    .await
    .assert_status(200);

    let secret = browser.jar.cookies["tessera_session"].clone();
    let out = browser.post("/ui/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(!browser.jar.cookies.contains_key("tessera_session"));
    // Even a copy of the old cookie is worthless now.
    browser.jar.cookies.insert("tessera_session".into(), secret);
    assert_eq!(browser.get("/ui/account").await.status, 303);
}

#[tokio::test]
async fn repeated_login_failures_are_throttled_even_for_the_right_password() {
    let app = spawn_app_with(|c| c.throttle.max_failures = 3).await;
    let mut browser = Browser::new(&app);
    // As for tokens: more than `max_failures` attempts in the window are answered 429.
    for _ in 0..3 {
        assert_eq!(browser.login("admin", "guess").await.status, 401);
    }
    assert_eq!(browser.login("admin", "guess").await.status, 429);
    let blocked = browser.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(blocked.status, 429);
    assert!(
        !blocked
            .set_cookies
            .iter()
            .any(|c| c.starts_with("tessera_session="))
    );
}

#[tokio::test]
async fn pages_are_html_error_pages_included_and_assets_are_served() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let missing = browser.get("/ui/nowhere").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.html.starts_with("<!doctype html>"),
        "{}",
        missing.html
    );
    let css = app
        .client
        .get(format!("{}/ui/assets/app.css", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let page = app
        .client
        .get(format!("{}/ui/login", app.address))
        .send()
        .await
        .unwrap();
    let h = page.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(css.headers()["cache-control"], "public, max-age=300");
    let login = browser.get("/ui/login").await;
    for label in [
        "for=\"username\"",
        "for=\"password\"",
        "lang=\"en\"",
        "name=\"viewport\"",
    ] {
        assert!(login.html.contains(label), "{label}");
    }
}

/// Every path the UI's router answers a POST on (from its source, so none is forgotten),
/// with ids filled in; the login form has its own token and is tested above.
fn posted_paths() -> Vec<String> {
    let source = include_str!("../../../src/web/mod.rs");
    source
        .split(".route(")
        .skip(1)
        .filter(|chunk| {
            let call = chunk.split(".route(").next().unwrap_or("");
            call.contains("post(")
        })
        .filter_map(|chunk| chunk.split('"').nth(1).map(str::to_string))
        .filter(|path| path != "/login")
        .map(|path| {
            let filled: Vec<String> = path
                .split('/')
                .map(|seg| match seg {
                    "{n}" => "1".to_string(),
                    s if s.starts_with('{') => "00000000-0000-4000-8000-000000000000".to_string(),
                    s => s.to_string(),
                })
                .collect();
            format!("/ui{}", filled.join("/"))
        })
        .collect()
}

#[tokio::test]
async fn every_form_of_the_ui_refuses_another_sessions_csrf_token() {
    let paths = posted_paths();
    assert!(paths.len() >= 28, "fewer forms than expected: {paths:?}");
    let app = spawn_app().await;
    let mut browser = Browser::admin(&app).await;
    let mut other = Browser::admin(&app).await;
    let foreign = other.csrf().await;
    for path in paths {
        let page = browser
            .post(
                &path,
                &[("csrf", foreign.as_str()), ("name", "x"), ("ids", "y")],
            )
            .await;
        assert_eq!(page.status, 403, "{path} took another session's CSRF token");
        let page = browser.post(&path, &[("name", "x")]).await;
        assert_eq!(page.status, 403, "{path} took a form without a CSRF token");
    }
}

#[tokio::test]
async fn a_session_left_idle_for_two_hours_ends() {
    let app = spawn_app().await;
    let mut browser = Browser::admin(&app).await;
    let secret = browser.jar.cookies["tessera_session"].clone();
    let session = app.state.sessions.resolve(&secret).await.unwrap().unwrap();
    let id = session.credential().id;
    let store = &app.state.store;
    // Used 1 h 59 min ago: still open, and the use is recorded again.
    let recent = chrono::Utc::now() - chrono::Duration::minutes(119);
    store.touch_session(id, recent).await.unwrap();
    assert_eq!(browser.get("/ui/account").await.status, 200);
    // Last used 2 h 1 min ago: over.
    let stale = chrono::Utc::now() - chrono::Duration::minutes(121);
    store.touch_session(id, stale).await.unwrap();
    let page = browser.get("/ui/account").await;
    assert_eq!(page.status, 303, "an idle session still works");
}

#[tokio::test]
async fn users_change_their_own_name_but_not_their_email() {
    let app = spawn_app().await;
    user_with_password(&app, "jane", "jane-password-123").await;
    let mut jane = Browser::new(&app);
    jane.login("jane", "jane-password-123").await;
    let csrf = jane.csrf().await;
    let saved = jane
        .post(
            "/ui/account/profile",
            &[
                ("csrf", &csrf),
                ("first_name", "Jane"),
                ("last_name", "Doe"),
                ("email", "admin@localhost.localdomain"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let page = jane.get(saved.location.as_deref().unwrap()).await;
    assert!(page.html.contains("Profile saved.") && page.html.contains("value=\"Doe\""));
    let me = app.admin_get("/api/admin/v1/users?search=jane").await.body[0].clone();
    assert_eq!(me["lastName"], "Doe");
    assert_eq!(
        me["email"], "jane@example.com",
        "the e-mail changed from the account page"
    );

    let long = "x".repeat(200);
    let refused = jane
        .post(
            "/ui/account/profile",
            &[
                ("csrf", &csrf),
                ("first_name", "Jane"),
                ("last_name", &long),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.html.contains("id=\"last-name-error\"") && refused.html.contains(&long));
    let audit = app
        .admin_get("/api/admin/v1/audit?action=user.updated")
        .await;
    assert_eq!(audit.body.as_array().unwrap().len(), 1);
}
