//! Model API security: the permission table of SPEC section 6, generated over every role source
//! and both visibilities and asserted over HTTP; creation, discovery, ownership and collaborators.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Auth, TestApp, spawn_app};

const BASE: &str = "/api/modelServing/v1/modelApis";

struct World {
    app: TestApp,
    api: String,
    project: String,
    /// (source, token or None for anonymous, role it should hold: 0 none, 1 viewer, 2 editor, 3 owner, 4 admin)
    callers: Vec<(&'static str, Option<String>, u8)>,
}

async fn world() -> World {
    let app = spawn_app().await;
    let mut tokens = std::collections::HashMap::new();
    for name in [
        "mowner",
        "powner",
        "pcontrib",
        "pconsumer",
        "deditor",
        "dviewer",
        "oeditor",
        "oviewer",
        "stranger",
    ] {
        let (id, token) = app.user_with_token(name, &["Practitioner"]).await;
        tokens.insert(name, (id, token));
    }
    let t = |n: &str| tokens[n].1.clone();
    let id = |n: &str| tokens[n].0.clone();
    let project = app.create_project(&t("powner"), "churn").await;
    for (who, role) in [
        ("mowner", "Contributor"),
        ("pcontrib", "Contributor"),
        ("pconsumer", "ResultsConsumer"),
    ] {
        app.post(
            &format!("/v4/projects/{project}/collaborators"),
            &t("powner"),
            json!({ "collaboratorId": id(who), "projectRole": role }),
        )
        .await
        .assert_status(200);
    }
    for (org, member) in [("editors", "oeditor"), ("viewers", "oviewer")] {
        let o = app
            .admin_post(
                "/api/organizations/v1/organizations",
                json!({ "name": org }),
            )
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.admin_post(
            &format!("/api/organizations/v1/organizations/{o}/members"),
            json!({ "userName": member }),
        )
        .await
        .assert_status(200);
    }
    let created = app
        .post(BASE, &t("mowner"), json!({ "name": "Churn predictor", "projectId": project, "kind": "sync", "visibility": "private", "authorization": "restricted" }))
        .await;
    created.assert_status(201);
    let api = created.body["id"].as_str().unwrap().to_string();
    for body in [
        json!({ "userName": "deditor", "role": "editor" }),
        json!({ "email": "dviewer@example.com", "role": "viewer" }),
        json!({ "organization": "editors", "role": "editor" }),
        json!({ "organization": "viewers", "role": "viewer" }),
    ] {
        app.post(&format!("{BASE}/{api}/collaborators"), &t("mowner"), body)
            .await
            .assert_status(201);
    }
    let callers = vec![
        ("owner", Some(t("mowner")), 3),
        ("project Owner", Some(t("powner")), 3),
        ("project Contributor", Some(t("pcontrib")), 2),
        ("project ResultsConsumer", Some(t("pconsumer")), 1),
        ("direct editor", Some(t("deditor")), 2),
        ("direct viewer (by e-mail)", Some(t("dviewer")), 1),
        ("organization editor", Some(t("oeditor")), 2),
        ("organization viewer", Some(t("oviewer")), 1),
        ("unrelated user", Some(t("stranger")), 0),
        ("SysAdmin", Some(app.admin_token.clone()), 4),
        ("anonymous", None, 0),
    ];
    World {
        app,
        api,
        project,
        callers,
    }
}

/// (action, minimum role, request)
fn actions(api: &str, visibility: &str) -> Vec<(&'static str, u8, Method, String, Option<Value>)> {
    vec![
        ("view", 1, Method::GET, format!("{BASE}/{api}"), None),
        (
            "view versions",
            1,
            Method::GET,
            format!("{BASE}/{api}/versions"),
            None,
        ),
        (
            "view logs",
            1,
            Method::GET,
            format!("{BASE}/{api}/logs"),
            None,
        ),
        (
            "view audit history",
            2,
            Method::GET,
            format!("{BASE}/{api}/audit"),
            None,
        ),
        (
            "see access tokens",
            2,
            Method::GET,
            format!("{BASE}/{api}/accessTokens"),
            None,
        ),
        (
            "change settings",
            2,
            Method::PATCH,
            format!("{BASE}/{api}"),
            Some(json!({ "description": "same" })),
        ),
        (
            "see collaborators",
            2,
            Method::GET,
            format!("{BASE}/{api}/collaborators"),
            None,
        ),
        (
            "change authorization",
            2,
            Method::PUT,
            format!("{BASE}/{api}/authorization"),
            Some(json!({ "authorization": "restricted" })),
        ),
        (
            "change visibility",
            3,
            Method::PUT,
            format!("{BASE}/{api}/visibility"),
            Some(json!({ "visibility": visibility })),
        ),
    ]
}

#[tokio::test]
async fn the_permission_table_holds_for_every_role_source_and_visibility() {
    let w = world().await;
    for visibility in ["private", "public"] {
        w.app
            .put(
                &format!("{BASE}/{}/visibility", w.api),
                &w.app.admin_token,
                json!({ "visibility": visibility }),
            )
            .await
            .assert_status(200);
        for (source, token, role) in &w.callers {
            for (action, needs, method, path, body) in actions(&w.api, visibility) {
                let auth = token.as_deref().map_or(Auth::None, Auth::Bearer);
                let reply = w.app.send(method, &path, auth, body).await;
                let expected = match (token, *role) {
                    (None, _) => 401,
                    (_, 4) => 200,
                    (_, r) if r >= needs => 200,
                    // A public model API is visible to anyone authenticated.
                    (_, 0)
                        if visibility == "public" && matches!(action, "view" | "view versions") =>
                    {
                        200
                    }
                    (_, 0) if visibility == "private" => 404,
                    _ => 403,
                };
                assert_eq!(
                    reply.status.as_u16(),
                    expected,
                    "{source} / {action} / {visibility}: {reply:?}"
                );
                if expected >= 400 {
                    reply.assert_envelope();
                }
            }
        }
    }
}

#[tokio::test]
async fn listing_shows_only_what_the_caller_may_discover() {
    let w = world().await;
    let names = |token: String| {
        let app = &w.app;
        async move {
            app.get(BASE, &token)
                .await
                .body
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let stranger = w
        .callers
        .iter()
        .find(|c| c.0 == "unrelated user")
        .unwrap()
        .1
        .clone()
        .unwrap();
    let viewer = w
        .callers
        .iter()
        .find(|c| c.0 == "organization viewer")
        .unwrap()
        .1
        .clone()
        .unwrap();
    assert!(names(stranger.clone()).await.is_empty());
    assert_eq!(names(viewer).await, vec!["Churn predictor"]);
    w.app
        .put(
            &format!("{BASE}/{}/visibility", w.api),
            &w.app.admin_token,
            json!({ "visibility": "public" }),
        )
        .await
        .assert_status(200);
    assert_eq!(names(stranger.clone()).await, vec!["Churn predictor"]);
    assert!(
        w.app
            .get(&format!("{BASE}?search=nothing-like-it"), &stranger)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn only_project_owners_and_contributors_create_model_apis() {
    let w = world().await;
    let token = |source: &str| {
        w.callers
            .iter()
            .find(|c| c.0 == source)
            .unwrap()
            .1
            .clone()
            .unwrap()
    };
    let body = |name: &str| json!({ "name": name, "projectId": w.project, "kind": "async", "visibility": "public", "authorization": "unrestricted" });
    w.app
        .post(BASE, &token("project Contributor"), body("a"))
        .await
        .assert_status(201);
    w.app
        .post(BASE, &token("project ResultsConsumer"), body("b"))
        .await
        .assert_status(403);
    w.app
        .post(BASE, &token("unrelated user"), body("c"))
        .await
        .assert_status(404);
    w.app
        .post(BASE, &token("project Contributor"), body("a"))
        .await
        .assert_status(409);
    for (bad, field) in [
        ("kind", "kind"),
        ("visibility", "visibility"),
        ("authorization", "authorization"),
    ] {
        let mut b = body("d");
        b[bad] = json!("sideways");
        let reply = w.app.post(BASE, &token("project Owner"), b).await;
        reply.assert_status(400);
        assert!(reply.error().contains(field), "{reply:?}");
    }
}

#[tokio::test]
async fn ownership_moves_and_collaborators_are_managed_by_the_owner() {
    let w = world().await;
    let token = |source: &str| {
        w.callers
            .iter()
            .find(|c| c.0 == source)
            .unwrap()
            .1
            .clone()
            .unwrap()
    };
    let api = &w.api;
    let editor = token("direct editor");
    // An editor cannot transfer, invite or remove.
    w.app
        .post(
            &format!("{BASE}/{api}/transferOwnership"),
            &editor,
            json!({ "userName": "deditor" }),
        )
        .await
        .assert_status(403);
    w.app
        .share_model_api(
            &editor,
            api,
            json!({ "userName": "stranger", "role": "viewer" }),
        )
        .await
        .assert_status(403);

    let moved = w
        .app
        .post(
            &format!("{BASE}/{api}/transferOwnership"),
            &token("owner"),
            json!({ "userName": "deditor" }),
        )
        .await;
    moved.assert_status(200);
    assert_eq!(moved.body["ownerName"], "deditor");
    // The new owner may now change visibility; the previous one stays as an editor.
    w.app
        .set_model_visibility(&editor, api, "private")
        .await
        .assert_status(200);
    w.app
        .set_model_visibility(&token("owner"), api, "private")
        .await
        .assert_status(403);
    let list = w
        .app
        .get(&format!("{BASE}/{api}/collaborators"), &editor)
        .await;
    assert!(
        list.body
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "mowner" && c["role"] == "editor"),
        "{list:?}"
    );

    let invited = w
        .app
        .share_model_api(
            &editor,
            api,
            json!({ "userName": "stranger", "role": "viewer" }),
        )
        .await;
    invited.assert_status(201);
    let entry = invited
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "stranger")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.app
        .get(&format!("{BASE}/{api}"), &token("unrelated user"))
        .await
        .assert_status(200);
    let promoted = w
        .app
        .put(
            &format!("{BASE}/{api}/collaborators/{entry}"),
            &editor,
            json!({ "role": "editor" }),
        )
        .await;
    assert!(
        promoted
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "stranger" && c["role"] == "editor")
    );
    w.app
        .delete(&format!("{BASE}/{api}/collaborators/{entry}"), &editor)
        .await
        .assert_status(200);
    w.app
        .get(&format!("{BASE}/{api}"), &token("unrelated user"))
        .await
        .assert_status(404);
    w.app
        .delete(&format!("{BASE}/{api}/collaborators/{entry}"), &editor)
        .await
        .assert_status(404);

    for (body, field) in [
        (
            json!({ "userName": "a", "email": "a@example.com", "role": "viewer" }),
            "exactly one",
        ),
        (
            json!({ "organization": "nobody", "role": "viewer" }),
            "organization",
        ),
        (json!({ "userName": "stranger", "role": "god" }), "role"),
        (json!({ "userName": "deditor", "role": "viewer" }), "owner"),
    ] {
        let reply = w
            .app
            .post(
                &format!("{BASE}/{api}/collaborators"),
                &editor,
                body.clone(),
            )
            .await;
        reply.assert_status(400);
        assert!(reply.error().contains(field), "{body}: {reply:?}");
    }
}

#[tokio::test]
async fn the_changing_rows_of_the_table_hold_for_every_role_source_and_visibility() {
    let w = world().await;
    w.app.create_user("invitee", &[]).await;
    let owner = w.callers[0].1.clone().unwrap();
    let mut n = 0;
    for visibility in ["private", "public"] {
        w.app
            .put(
                &format!("{BASE}/{}/visibility", w.api),
                &owner,
                json!({ "visibility": visibility }),
            )
            .await
            .assert_status(200);
        for (source, token, role) in &w.callers {
            let auth = token.as_deref().map_or(Auth::None, Auth::Bearer);
            // Refused: 401 anonymous, 404 when the caller may not even see a private model API.
            let refused = if token.is_none() {
                401
            } else if *role == 0 && visibility == "private" {
                404
            } else {
                403
            };
            let expect = |allowed: bool, ok: u16| if allowed { ok } else { refused };

            n += 1;
            let create = w
                .app
                .send(
                    Method::POST,
                    &format!("{BASE}/{}/accessTokens", w.api),
                    auth,
                    Some(json!({ "name": format!("t{n}") })),
                )
                .await;
            assert_eq!(
                create.status.as_u16(),
                expect(*role >= 2, 201),
                "{source} / create token / {visibility}: {create:?}"
            );

            let victim = w
                .app
                .post(
                    &format!("{BASE}/{}/accessTokens", w.api),
                    &owner,
                    json!({ "name": format!("victim{n}") }),
                )
                .await;
            let revoke = w
                .app
                .send(
                    Method::DELETE,
                    &format!(
                        "{BASE}/{}/accessTokens/{}",
                        w.api,
                        victim.body["id"].as_str().unwrap()
                    ),
                    auth,
                    None,
                )
                .await;
            assert_eq!(
                revoke.status.as_u16(),
                expect(*role >= 3, 200),
                "{source} / revoke token / {visibility}: {revoke:?}"
            );

            // Deploying also needs the project: owners (of the model API or the project) and
            // editors who are project Contributors; editors from elsewhere may not.
            let deploy = w
                .app
                .send(
                    Method::POST,
                    &format!("{BASE}/{}/versions", w.api),
                    auth,
                    Some(json!({ "upstreamUrl": "http://127.0.0.1:9" })),
                )
                .await;
            let may_deploy = *role >= 3 || *source == "project Contributor";
            assert_eq!(
                deploy.status.as_u16(),
                expect(may_deploy, 201),
                "{source} / deploy / {visibility}: {deploy:?}"
            );

            let invite = w
                .app
                .send(
                    Method::POST,
                    &format!("{BASE}/{}/collaborators", w.api),
                    auth,
                    Some(json!({ "userName": "invitee", "role": "viewer" })),
                )
                .await;
            assert_eq!(
                invite.status.as_u16(),
                expect(*role >= 3, 201),
                "{source} / invite / {visibility}: {invite:?}"
            );
            for reply in [&create, &revoke, &deploy, &invite] {
                if reply.status.as_u16() >= 400 {
                    reply.assert_envelope();
                }
            }
        }
    }
}

/// Searches of three characters or more go through the trigram index (migration 0015 on both
/// backends): a substring of the name or of the description in any case, kept in step with
/// renames and description changes; shorter searches still match anywhere.
#[tokio::test]
async fn search_finds_substrings_of_name_and_description_after_changes() {
    let w = world().await;
    let owner = w.callers[0].1.clone().unwrap();
    let found = |search: &'static str| {
        let app = &w.app;
        async move {
            let reply = app
                .get(&format!("{BASE}?search={search}"), &app.admin_token)
                .await;
            reply.assert_status(200);
            reply
                .body
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let churn = vec!["Churn predictor".to_string()];
    assert_eq!(found("CHURN").await, churn);
    assert_eq!(found("urn%20pre").await, churn);
    assert_eq!(found("ch").await, churn);
    assert_eq!(found("r").await, churn);
    assert!(found("retention").await.is_empty());
    let path = format!("{BASE}/{}", w.api);
    let patch = |body: Value| {
        w.app
            .send(Method::PATCH, &path, Auth::Bearer(&owner), Some(body))
    };
    patch(json!({ "description": "Scores the RETENTION risk" }))
        .await
        .assert_status(200);
    assert_eq!(found("retention").await, churn);
    assert_eq!(found("ion ri").await, churn);
    patch(json!({ "name": "Attrition model" }))
        .await
        .assert_status(200);
    assert!(found("churn").await.is_empty());
    assert_eq!(found("TTRITION").await, vec!["Attrition model".to_string()]);
    assert!(found("nothing-like-it").await.is_empty());
}
