//! Names typed into Tessera follow the rule names asserted by an identity provider follow
//! (`names::first_invisible`, found by the fourth review of #17: the API and the profile form
//! accepted the zero-width space, fillers and blanks that single sign-on refused): first and
//! last names, organisation names and e-mail addresses, through the admin API, the
//! administrator's page and one's own profile; names in every script stay accepted.

use reqwest::Method;
use serde_json::json;

use crate::cases::ui::{Browser, user_with_password};
use crate::helpers::{Auth, spawn_app};

/// One of each kind of invisible character, with what it is.
const INVISIBLE: &[(char, &str)] = &[
    ('\u{200B}', "zero-width space"),
    ('\u{202E}', "right-to-left override"),
    ('\u{2028}', "line separator"),
    ('\u{00AD}', "soft hyphen"),
    ('\u{034F}', "combining grapheme joiner"),
    ('\u{3164}', "Hangul filler"),
    ('\u{115F}', "Hangul choseong filler"),
    ('\u{FFA0}', "halfwidth Hangul filler"),
    ('\u{FE0F}', "variation selector 16"),
    ('\u{180B}', "Mongolian free variation selector"),
    ('\u{17B4}', "Khmer inherent vowel"),
    ('\u{2800}', "braille pattern blank"),
    ('\u{E0100}', "variation selector 17"),
    ('\u{E0041}', "tag character"),
    ('\u{200D}', "zero-width joiner between ASCII letters"),
    ('\n', "line feed"),
];

/// Names in scripts that need more than ASCII, joiners where they do their work.
const ACCEPTED: &[&str] = &[
    "Zoë Ångström",
    "山田",
    "محمد",
    "\u{0645}\u{0647}\u{0631}\u{200C}\u{0646}\u{0627}\u{0632}",
    "\u{0915}\u{094D}\u{200D}\u{0937}",
    "O'Brien-Núñez",
];

fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[tokio::test]
async fn invisible_characters_are_refused_in_every_name_the_api_takes_naming_the_field() {
    let app = spawn_app().await;
    let jane = app.create_user("jane", &[]).await;
    let patch = format!("/api/admin/v1/users/{jane}");
    for &(c, what) in INVISIBLE {
        let name = format!("An{c}n");
        let cases = [
            (
                Method::POST,
                "/api/admin/v1/users",
                json!({ "userName": "x", "email": "x@example.com", "firstName": name }),
                "firstName",
            ),
            (
                Method::POST,
                "/api/admin/v1/users",
                json!({ "userName": "x", "email": "x@example.com", "lastName": name }),
                "lastName",
            ),
            (
                Method::POST,
                "/api/admin/v1/users",
                json!({ "userName": "x", "email": format!("x{c}y@example.com") }),
                "email",
            ),
            (
                Method::PATCH,
                patch.as_str(),
                json!({ "firstName": name }),
                "firstName",
            ),
            (
                Method::PATCH,
                patch.as_str(),
                json!({ "lastName": name }),
                "lastName",
            ),
            (
                Method::POST,
                "/api/organizations/v1/organizations",
                json!({ "name": name }),
                "name",
            ),
        ];
        for (method, path, body, field) in cases {
            let reply = app
                .send(
                    method.clone(),
                    path,
                    Auth::Bearer(&app.admin_token),
                    Some(body),
                )
                .await;
            reply.assert_status(400).assert_envelope();
            let error = reply.error();
            assert!(error.contains(field), "{what} in {field}: {error}");
            assert!(error.contains(&code_point(c)), "{what}: {error}");
        }
    }
    // Nothing was created or changed.
    let users = app.admin_get("/api/admin/v1/users").await;
    assert_eq!(
        users.body.as_array().map(Vec::len),
        Some(2),
        "admin and jane"
    );
    let jane_now = app.admin_get(&patch).await;
    assert_eq!(jane_now.body["firstName"], "");
    let orgs = app.admin_get("/api/organizations/v1/organizations").await;
    assert_eq!(orgs.body, json!([]));
}

#[tokio::test]
async fn names_in_every_script_are_accepted_joiners_included() {
    let app = spawn_app().await;
    for (i, &name) in ACCEPTED.iter().enumerate() {
        let created = app
            .admin_post(
                "/api/admin/v1/users",
                json!({ "userName": format!("u{i}"), "email": format!("u{i}@example.com"), "firstName": name, "lastName": name }),
            )
            .await;
        created.assert_status(201);
        assert_eq!(created.body["firstName"], name);
        let id = created.body["id"].as_str().unwrap();
        let patched = app
            .send(
                Method::PATCH,
                &format!("/api/admin/v1/users/{id}"),
                Auth::Bearer(&app.admin_token),
                Some(json!({ "lastName": format!("{name} {name}") })),
            )
            .await;
        patched.assert_status(200);
        assert_eq!(patched.body["lastName"], format!("{name} {name}"));
        let org = app
            .admin_post(
                "/api/organizations/v1/organizations",
                json!({ "name": name }),
            )
            .await;
        org.assert_status(201);
        assert_eq!(org.body["name"], name);
    }
}

#[tokio::test]
async fn the_profile_form_and_the_administrators_form_refuse_invisible_characters_too() {
    let app = spawn_app().await;
    user_with_password(&app, "jane", "jane-password-123").await;
    let mut jane = Browser::new(&app);
    jane.login("jane", "jane-password-123").await;
    let csrf = jane.csrf().await;
    for (first, last, error_id, c) in [
        ("Jane\u{200B}", "Doe", "first-name-error", '\u{200B}'),
        ("Jane", "\u{3164}", "last-name-error", '\u{3164}'),
        ("Ja\u{200D}ne", "Doe", "first-name-error", '\u{200D}'),
    ] {
        let refused = jane
            .post(
                "/ui/account/profile",
                &[("csrf", &csrf), ("first_name", first), ("last_name", last)],
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        assert!(
            refused.html.contains(&format!("id=\"{error_id}\""))
                && refused.html.contains(&code_point(c)),
            "{first:?} {last:?}: {}",
            refused.html
        );
    }
    let persian = ACCEPTED[3];
    let saved = jane
        .post(
            "/ui/account/profile",
            &[
                ("csrf", &csrf),
                ("first_name", persian),
                ("last_name", "Doe"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let me = app.admin_get("/api/admin/v1/users?search=jane").await.body[0].clone();
    assert_eq!(me["firstName"], persian);

    // The administrator's page for new users.
    let mut admin = Browser::admin(&app).await;
    let csrf = admin.csrf().await;
    let refused = admin
        .post(
            "/ui/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "ghost"),
                ("email", "ghost@example.com"),
                ("first_name", "\u{2800}"),
                ("last_name", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.html.contains("U+2800"), "{}", refused.html);
    let ghost = app.admin_get("/api/admin/v1/users?search=ghost").await;
    assert_eq!(ghost.body, json!([]), "not created");
}
