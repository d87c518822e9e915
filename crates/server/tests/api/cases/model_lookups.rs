//! Model API paths that used to read a whole table (issue 19): the invocation log pages by
//! keyset cursor (every entry once, newest first, other model APIs' entries never), and a
//! collaborator named by organization or e-mail is found by index, with the same answers as
//! before: an organization's name ignoring ASCII case (its exact spelling first), an e-mail of a
//! user, and a 400 naming the field when there is none.

use std::collections::HashSet;

use serde_json::json;
use tessera_core::ids::ModelApiId;
use tessera_core::model_apis::Invocation;

use crate::helpers::TestApp;
use crate::helpers::spawn_app;

const BASE: &str = "/api/modelServing/v1/modelApis";

async fn model_api(app: &TestApp, token: &str, project: &str, name: &str) -> String {
    let reply = app
        .post(
            BASE,
            token,
            json!({ "name": name, "projectId": project, "kind": "sync", "visibility": "private", "authorization": "restricted" }),
        )
        .await;
    reply.assert_status(201);
    reply.body["id"].as_str().unwrap().to_string()
}

/// Appends `n` entries to `api`'s log straight through the store, `latencyMs` numbering them
/// from `first`.
async fn log_entries(app: &TestApp, api: &str, first: i64, n: i64) {
    let id = ModelApiId::parse(api).unwrap();
    let batch: Vec<Invocation> = (first..first + n)
        .map(|i| Invocation {
            model_api_id: id,
            at: chrono::Utc::now(),
            version: Some(1),
            status: 200,
            latency_ms: i,
            token_name: Some("client".into()),
        })
        .collect();
    app.state.store.record_invocations(&batch).await.unwrap();
}

/// Follows `X-Next-Cursor` from `first` to the end; the `latencyMs` of every entry seen, and
/// the first page's `X-Total-Count`. Calls `between` after the first page.
async fn walk<F: std::future::Future<Output = ()>>(
    app: &TestApp,
    first: &str,
    token: &str,
    between: F,
) -> (Vec<i64>, String) {
    let mut seen = Vec::new();
    let mut path = first.to_string();
    let mut total = None;
    let mut between = Some(between);
    for page in 0.. {
        let reply = app.get(&path, token).await;
        reply.assert_status(200);
        total.get_or_insert_with(|| reply.header("x-total-count").unwrap().to_string());
        let rows = reply.body.as_array().expect("a bare array");
        assert!(rows.len() <= 4, "more than the limit: {}", rows.len());
        seen.extend(rows.iter().map(|r| r["latencyMs"].as_i64().unwrap()));
        if let Some(f) = between.take() {
            f.await;
        }
        let Some(next) = reply.header("x-next-cursor") else {
            break;
        };
        assert!(page < 100, "the walk does not end");
        path = format!("{first}&cursor={next}");
    }
    (seen, total.unwrap())
}

#[tokio::test]
async fn a_walk_of_the_invocation_log_sees_each_entry_once_newest_first_and_only_its_own() {
    let app = spawn_app().await;
    let (_, owner) = app.user_with_token("lowner", &["Practitioner"]).await;
    let (_, stranger) = app.user_with_token("lstranger", &["Practitioner"]).await;
    let project = app.create_project(&owner, "logs").await;
    let api = model_api(&app, &owner, &project, "Logged").await;
    let other = model_api(&app, &owner, &project, "Other").await;
    // Interleaved with another model API's entries, which no page of this one shows.
    for round in 0..3 {
        log_entries(&app, &api, round * 10, 10).await;
        log_entries(&app, &other, 1000 + round * 10, 10).await;
    }
    let logs = format!("{BASE}/{api}/logs?limit=4");
    // Entries logged while the walk runs are newer than its first page: never listed.
    let (seen, total) = walk(&app, &logs, &owner, log_entries(&app, &api, 500, 7)).await;
    let expected: Vec<i64> = (0..30).rev().collect();
    assert_eq!(seen, expected, "not every entry once, newest first");
    assert_eq!(total, "30");
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());

    // The count and the offset see the new entries; an offset still pages (Domino's way).
    let reply = app.get(&format!("{logs}&offset=35"), &owner).await;
    reply.assert_status(200);
    let tail: Vec<i64> = reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["latencyMs"].as_i64().unwrap())
        .collect();
    assert_eq!(tail, vec![1, 0]);
    assert_eq!(reply.header("x-total-count"), Some("37"));
    assert_eq!(reply.header("x-total-is-estimate"), Some("false"));
    assert_eq!(
        reply.header("x-next-cursor"),
        None,
        "the last page has no next"
    );

    // A cursor opens nothing to a caller who may not see the log.
    let first = app.get(&logs, &owner).await;
    let cursor = first.header("x-next-cursor").unwrap().to_string();
    app.get(&format!("{logs}&cursor={cursor}"), &stranger)
        .await
        .assert_status(404);
    app.get(&format!("{logs}&cursor={cursor}"), &owner)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn the_invocation_log_refuses_a_cursor_with_an_offset_and_a_cursor_not_its_own() {
    let app = spawn_app().await;
    let (_, owner) = app.user_with_token("rowner", &["Practitioner"]).await;
    let project = app.create_project(&owner, "refusals").await;
    let api = model_api(&app, &owner, &project, "Refusing").await;
    model_api(&app, &owner, &project, "Another").await;
    log_entries(&app, &api, 0, 5).await;
    let logs = format!("{BASE}/{api}/logs");
    let cursor = app
        .get(&format!("{logs}?limit=2"), &owner)
        .await
        .header("x-next-cursor")
        .unwrap()
        .to_string();
    // The model API listing's cursor is a cursor of another order.
    let foreign = app
        .get(&format!("{BASE}?limit=1"), &owner)
        .await
        .header("x-next-cursor")
        .unwrap()
        .to_string();
    for (query, field) in [
        (format!("cursor={cursor}&offset=1"), "offset"),
        ("cursor=not-a-cursor".to_string(), "cursor"),
        (format!("cursor={foreign}"), "cursor"),
        ("limit=0".to_string(), "limit"),
        ("limit=1001".to_string(), "limit"),
        ("offset=-1".to_string(), "offset"),
        ("page=2".to_string(), "page"),
    ] {
        let reply = app.get(&format!("{logs}?{query}"), &owner).await;
        reply.assert_status(400);
        assert!(reply.error().contains(field), "{query}: {reply:?}");
    }
}

/// A user who belongs to the organization `org` (created if needed); the user's token.
async fn member_of(app: &TestApp, org: &str, user: &str) -> String {
    let created = app
        .post(
            "/api/organizations/v1/organizations",
            &app.admin_token,
            json!({ "name": org }),
        )
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_string();
    let (_, token) = app.user_with_token(user, &["Practitioner"]).await;
    app.post(
        &format!("/api/organizations/v1/organizations/{id}/members"),
        &app.admin_token,
        json!({ "userName": user }),
    )
    .await
    .assert_status(200);
    token
}

#[tokio::test]
async fn a_collaborator_by_organization_name_ignores_case_prefers_the_exact_spelling_and_gets_access()
 {
    let app = spawn_app().await;
    let (_, owner) = app.user_with_token("cowner", &["Practitioner"]).await;
    let project = app.create_project(&owner, "sharing").await;
    let upper = member_of(&app, "Data-Team", "upper").await;
    let exact = member_of(&app, "data-team", "exact").await;
    let analysts = member_of(&app, "Analysts", "analyst").await;
    // Many other organizations: the lookup must not depend on reading them all.
    for i in 0..30 {
        app.post(
            "/api/organizations/v1/organizations",
            &app.admin_token,
            json!({ "name": format!("org-{i:02}") }),
        )
        .await
        .assert_status(201);
    }
    let api = model_api(&app, &owner, &project, "Shared").await;
    let collaborators = format!("{BASE}/{api}/collaborators");
    // The exact spelling wins over another case of it.
    let added = app
        .post(
            &collaborators,
            &owner,
            json!({ "organization": "data-team", "role": "viewer" }),
        )
        .await;
    added.assert_status(201);
    assert!(
        added.body.to_string().contains("\"name\":\"data-team\""),
        "{added:?}"
    );
    // Another case of a single organization's name finds it, stored under its own spelling.
    let added = app
        .post(
            &collaborators,
            &owner,
            json!({ "organization": " ANALYSTS ", "role": "viewer" }),
        )
        .await;
    added.assert_status(201);
    assert!(
        added.body.to_string().contains("\"name\":\"Analysts\""),
        "{added:?}"
    );
    // The members of the organizations added see it; the member of the other spelling does not.
    let view = format!("{BASE}/{api}");
    app.get(&view, &exact).await.assert_status(200);
    app.get(&view, &analysts).await.assert_status(200);
    app.get(&view, &upper).await.assert_status(404);
    // No organization of that name, in any case: a 400 naming the field.
    for name in ["data-tea", "data-team-x", "%", "_ata-team"] {
        let reply = app
            .post(
                &collaborators,
                &owner,
                json!({ "organization": name, "role": "viewer" }),
            )
            .await;
        reply.assert_status(400);
        assert!(reply.error().contains("organization"), "{name}: {reply:?}");
    }
}

#[tokio::test]
async fn a_collaborator_by_e_mail_is_the_user_with_that_address_in_any_case_and_no_other() {
    let app = spawn_app().await;
    let (_, owner) = app.user_with_token("eowner", &["Practitioner"]).await;
    let (_, viewer) = app.user_with_token("eviewer", &["Practitioner"]).await;
    // A user whose address contains the other's: a substring search would find both.
    let (_, longer) = app.user_with_token("xeviewer", &["Practitioner"]).await;
    let project = app.create_project(&owner, "mail").await;
    let api = model_api(&app, &owner, &project, "Mailed").await;
    let collaborators = format!("{BASE}/{api}/collaborators");
    let added = app
        .post(
            &collaborators,
            &owner,
            json!({ "email": "EViewer@Example.com", "role": "viewer" }),
        )
        .await;
    added.assert_status(201);
    assert!(
        added.body.to_string().contains("\"name\":\"eviewer\""),
        "{added:?}"
    );
    let view = format!("{BASE}/{api}");
    app.get(&view, &viewer).await.assert_status(200);
    app.get(&view, &longer).await.assert_status(404);
    for email in ["viewer@example.com", "nobody@example.com"] {
        let reply = app
            .post(
                &collaborators,
                &owner,
                json!({ "email": email, "role": "viewer" }),
            )
            .await;
        reply.assert_status(400);
        assert!(reply.error().contains("email"), "{email}: {reply:?}");
    }
}
