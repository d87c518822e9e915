//! The lists that used to answer every row page by keyset cursor too (issue 19): a user's own
//! PATs, projects and organizations. A walk sees every row that existed when it began exactly
//! once while rows are added concurrently, never another user's private rows on any page, and
//! bad cursors and limits are 400s naming them.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::cases::ui::{Browser, link, user_with_password};
use crate::helpers::{TestApp, operator_token, spawn_app};

/// Follows `X-Next-Cursor` from `first` (which has a query string) to the end as `token`;
/// returns the values of `field` in the order seen.
async fn walk(app: &TestApp, first: &str, token: &str, field: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut path = first.to_string();
    for page in 0.. {
        let reply = app.get(&path, token).await;
        reply.assert_status(200);
        let rows = reply.body.as_array().expect("a bare array");
        seen.extend(rows.iter().map(|r| r[field].as_str().unwrap().to_string()));
        let Some(next) = reply.header("x-next-cursor") else {
            break;
        };
        assert!(page < 500, "the walk does not end");
        path = format!("{first}&cursor={next}");
    }
    seen
}

fn field_of(reply: &Value, field: &str) -> String {
    reply[field].as_str().unwrap().to_string()
}

/// Every id of `expected` seen exactly once, nothing of `foreign` seen.
fn assert_walk(seen: &[String], expected: &[String], foreign: &[String]) {
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a row was listed twice: {seen:?}");
    for id in expected {
        assert!(unique.contains(id), "{id} was skipped in {seen:?}");
    }
    for id in foreign {
        assert!(!unique.contains(id), "{id} is not the caller's, yet listed");
    }
}

#[tokio::test]
async fn a_walk_of_ones_own_tokens_sees_each_once_and_never_anothers_under_concurrent_creates() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, john) = app.user_with_token("john", &[]).await;
    let mut janes = Vec::new();
    let mut johns = Vec::new();
    for i in 0..13 {
        janes.push(field_of(
            &app.create_pat(&jane, &format!("jane-{i}"), 86400).await,
            "patId",
        ));
        johns.push(field_of(
            &app.create_pat(&john, &format!("john-{i}"), 86400).await,
            "patId",
        ));
    }
    // Both walk their lists three at a time while both keep creating tokens.
    let creating = async {
        for i in 0..10 {
            app.create_pat(&jane, &format!("jane-late-{i}"), 86400)
                .await;
            app.create_pat(&john, &format!("john-late-{i}"), 86400)
                .await;
        }
    };
    let (seen_by_jane, seen_by_john, ()) = tokio::join!(
        walk(&app, "/api/pat/v1/tokens?limit=3", &jane, "patId"),
        walk(&app, "/api/pat/v1/tokens?limit=3", &john, "patId"),
        creating,
    );
    assert_walk(&seen_by_jane, &janes, &johns);
    assert_walk(&seen_by_john, &johns, &janes);

    // Without a limit, one page holds them all, with an exact count and no next cursor.
    let all = app.get("/api/pat/v1/tokens", &jane).await;
    all.assert_status(200);
    let listed = all.body.as_array().unwrap().len();
    assert_eq!(
        listed,
        13 + 10 + 1,
        "jane's tokens (with the bootstrap one)"
    );
    assert_eq!(
        all.header("x-total-count"),
        Some(listed.to_string().as_str())
    );
    assert_eq!(all.header("x-total-is-estimate"), Some("false"));
    assert!(all.header("x-next-cursor").is_none());
    // Offset still pages as Domino clients expect: the second page of three.
    let second = app.get("/api/pat/v1/tokens?offset=3&limit=3", &jane).await;
    let first_six = app.get("/api/pat/v1/tokens?limit=6", &jane).await;
    assert_eq!(
        second.body.as_array().unwrap()[..],
        first_six.body.as_array().unwrap()[3..]
    );
}

#[tokio::test]
async fn bad_cursors_and_limits_on_the_newly_paged_lists_are_400s_naming_them() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let admin = app.admin_token.clone();
    for (path, token) in [
        ("/api/pat/v1/tokens", &jane),
        ("/v4/gateway/projects", &jane),
        ("/api/organizations/v1/organizations", &admin),
        ("/api/modelServing/v1/modelApis", &jane),
    ] {
        for query in [
            "cursor=bm90LWEtY3Vyc29y",
            "cursor=%01",
            "limit=0",
            "limit=1001",
        ] {
            let reply = app.get(&format!("{path}?{query}"), token).await;
            reply.assert_status(400).assert_envelope();
            let name = query.split('=').next().unwrap();
            assert!(
                reply.error().contains(name),
                "{path}?{query}: {}",
                reply.error()
            );
        }
        // A cursor of another list is refused as well.
        let other = app.get("/api/pat/v1/admin/tokens?limit=1", &admin).await;
        if let Some(cursor) = other
            .header("x-next-cursor")
            .filter(|_| !path.contains("/pat/"))
        {
            app.get(&format!("{path}?cursor={cursor}"), token)
                .await
                .assert_status(400);
        }
        // A cursor with an offset is ambiguous.
        let reply = app.get(&format!("{path}?cursor=x&offset=2"), token).await;
        reply.assert_status(400);
    }
}

/// Three users' tokens and three projects for the model-API visibility tests: john owns
/// `johns` and `shared` (jane collaborates on it), jane owns `janes` and is a member of the
/// organization `team`; ann has nothing.
pub(crate) struct Reach {
    pub(crate) jane: String,
    pub(crate) john: String,
    pub(crate) ann: String,
    pub(crate) johns: String,
    pub(crate) shared: String,
    pub(crate) janes: String,
}

impl Reach {
    pub(crate) async fn new(app: &TestApp) -> Reach {
        let (jane_id, jane) = app.user_with_token("jane", &[]).await;
        let (_, john) = app.user_with_token("john", &[]).await;
        let (_, ann) = app.user_with_token("ann", &[]).await;
        let johns = create_project(app, &john, "johns", None).await;
        let shared = create_project(app, &john, "shared", Some(&jane_id)).await;
        let janes = create_project(app, &jane, "janes", None).await;
        let org = app
            .admin_post(
                "/api/organizations/v1/organizations",
                json!({ "name": "team" }),
            )
            .await;
        let org = field_of(&org.body, "id");
        app.admin_post(
            &format!("/api/organizations/v1/organizations/{org}/members"),
            json!({ "userName": "jane" }),
        )
        .await
        .assert_status(200);
        Reach {
            jane,
            john,
            ann,
            johns,
            shared,
            janes,
        }
    }
}

pub(crate) async fn create_project(
    app: &TestApp,
    token: &str,
    name: &str,
    collaborator: Option<&str>,
) -> String {
    let collaborators: Vec<Value> = collaborator
        .map(|id| json!({ "collaboratorId": id, "projectRole": "Contributor" }))
        .into_iter()
        .collect();
    let reply = app
        .post(
            "/v4/projects",
            token,
            json!({ "name": name, "visibility": "Private", "collaborators": collaborators }),
        )
        .await;
    reply.assert_status(200);
    field_of(&reply.body, "id")
}

#[tokio::test]
async fn a_walk_of_projects_holds_the_callers_own_and_shared_ones_and_never_anothers_private_ones()
{
    let app = spawn_app().await;
    let (jane_id, jane) = app.user_with_token("jane", &[]).await;
    let (_, john) = app.user_with_token("john", &[]).await;
    let mut janes = Vec::new();
    let mut shared = Vec::new();
    let mut johns_only = Vec::new();
    for i in 0..7 {
        janes.push(create_project(&app, &jane, &format!("p{i:02}-jane"), None).await);
        shared.push(create_project(&app, &john, &format!("p{i:02}-shared"), Some(&jane_id)).await);
        johns_only.push(create_project(&app, &john, &format!("p{i:02}-john"), None).await);
    }
    let creating = async {
        for i in 0..6 {
            create_project(&app, &jane, &format!("late{i}-jane"), None).await;
            create_project(&app, &john, &format!("late{i}-john"), None).await;
        }
    };
    let (seen_by_jane, seen_by_john, ()) = tokio::join!(
        walk(&app, "/v4/gateway/projects?limit=2", &jane, "id"),
        walk(&app, "/v4/gateway/projects?limit=2", &john, "id"),
        creating,
    );
    let janes_all: Vec<String> = janes.iter().chain(&shared).cloned().collect();
    assert_walk(&seen_by_jane, &janes_all, &johns_only);
    let johns_all: Vec<String> = shared.iter().chain(&johns_only).cloned().collect();
    assert_walk(&seen_by_john, &johns_all, &janes);

    // Each relationship pages on its own, and the count says how many in all.
    let owned = walk(
        &app,
        "/v4/gateway/projects?relationship=Owned&limit=3",
        &jane,
        "id",
    )
    .await;
    assert_walk(&owned, &janes, &shared);
    let collaborating = walk(
        &app,
        "/v4/gateway/projects?relationship=Collaborating&limit=3",
        &jane,
        "id",
    )
    .await;
    assert_walk(&collaborating, &shared, &janes);
    assert_eq!(collaborating.len(), shared.len());
    let counted = app.get("/v4/gateway/projects?limit=1", &jane).await;
    assert_eq!(
        counted.header("x-total-count"),
        Some("20"),
        "7 + 7 shared + 6 late"
    );
}

/// The names of a listing's rows, in order.
fn names(reply: &Value) -> Vec<&str> {
    reply
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["name"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_users_projects_are_the_owned_and_the_shared_ones_merged_in_name_order_with_their_count()
{
    // Issue 19: the listing takes the owned ones and the shared ones from an index each; the
    // page interleaves them by name, pages by offset and by cursor, and counts both.
    let app = spawn_app().await;
    let (jane_id, jane) = app.user_with_token("jane", &[]).await;
    let (john_id, john) = app.user_with_token("john", &[]).await;
    let (_, ann) = app.user_with_token("ann", &[]).await;
    create_project(&app, &john, "a-shared", Some(&jane_id)).await;
    create_project(&app, &jane, "b-own", None).await;
    create_project(&app, &john, "c-shared", Some(&jane_id)).await;
    create_project(&app, &jane, "d-own", Some(&john_id)).await;
    create_project(&app, &john, "e-john", None).await;
    create_project(&app, &ann, "f-ann", None).await;

    let all = app.get("/v4/gateway/projects?limit=50", &jane).await;
    all.assert_status(200);
    assert_eq!(names(&all.body), ["a-shared", "b-own", "c-shared", "d-own"]);
    assert_eq!(all.header("x-total-count"), Some("4"));
    let johns = app.get("/v4/gateway/projects?limit=50", &john).await;
    assert_eq!(
        names(&johns.body),
        ["a-shared", "c-shared", "d-own", "e-john"]
    );
    assert_eq!(johns.header("x-total-count"), Some("4"));
    let anns = app.get("/v4/gateway/projects?limit=50", &ann).await;
    assert_eq!(names(&anns.body), ["f-ann"]);
    assert_eq!(anns.header("x-total-count"), Some("1"));

    let middle = app
        .get("/v4/gateway/projects?offset=1&limit=2", &jane)
        .await;
    assert_eq!(names(&middle.body), ["b-own", "c-shared"]);
    let first = app.get("/v4/gateway/projects?limit=2", &jane).await;
    assert_eq!(names(&first.body), ["a-shared", "b-own"]);
    let cursor = first.header("x-next-cursor").map(str::to_string);
    let cursor = cursor.expect("a next cursor after the first of two pages");
    let rest = app
        .get(
            &format!("/v4/gateway/projects?limit=2&cursor={cursor}"),
            &jane,
        )
        .await;
    assert_eq!(names(&rest.body), ["c-shared", "d-own"]);
}

#[tokio::test]
async fn organizations_page_by_name_for_administrators_only() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let mut orgs = Vec::new();
    for i in 0..9 {
        let reply = app
            .admin_post(
                "/api/organizations/v1/organizations",
                json!({ "name": format!("org-{i}") }),
            )
            .await;
        reply.assert_status(201);
        orgs.push(field_of(&reply.body, "id"));
    }
    let creating = async {
        for i in 0..5 {
            app.admin_post(
                "/api/organizations/v1/organizations",
                json!({ "name": format!("late-{i}") }),
            )
            .await
            .assert_status(201);
        }
    };
    let (seen, ()) = tokio::join!(
        walk(
            &app,
            "/api/organizations/v1/organizations?limit=2",
            &app.admin_token,
            "id"
        ),
        creating,
    );
    assert_walk(&seen, &orgs, &[]);
    // A user who is not an administrator sees no page at all, first or later.
    app.get("/api/organizations/v1/organizations?limit=2", &jane)
        .await
        .assert_status(403);
    let first = app
        .admin_get("/api/organizations/v1/organizations?limit=2")
        .await;
    let cursor = first.header("x-next-cursor").unwrap();
    app.get(
        &format!("/api/organizations/v1/organizations?limit=2&cursor={cursor}"),
        &jane,
    )
    .await
    .assert_status(403);
    // One organization is read alone.
    app.admin_get(&format!("/api/organizations/v1/organizations/{}", orgs[3]))
        .await
        .assert_status(200);
}

const MODEL_APIS: &str = "/api/modelServing/v1/modelApis";

async fn create_model_api(
    app: &TestApp,
    token: &str,
    project: &str,
    name: &str,
    visibility: &str,
) -> String {
    let reply = app
        .post(
            MODEL_APIS,
            token,
            json!({ "name": name, "projectId": project, "kind": "sync", "visibility": visibility, "authorization": "restricted" }),
        )
        .await;
    reply.assert_status(201);
    field_of(&reply.body, "id")
}

#[tokio::test]
async fn a_walk_of_model_apis_shows_public_ones_and_private_ones_shared_with_the_caller_only() {
    let app = spawn_app().await;
    let Reach {
        jane,
        john,
        ann,
        johns: johns_project,
        shared: shared_project,
        janes: janes_project,
    } = Reach::new(&app).await;

    let (mut public, mut johns_private, mut janes_view) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..4 {
        public.push(
            create_model_api(
                &app,
                &john,
                &johns_project,
                &format!("m{i}-public"),
                "public",
            )
            .await,
        );
        johns_private.push(
            create_model_api(
                &app,
                &john,
                &johns_project,
                &format!("m{i}-private"),
                "private",
            )
            .await,
        );
    }
    // Private ones jane reaches: directly, through her organization, through the project, her own.
    let direct = create_model_api(&app, &john, &johns_project, "m-direct", "private").await;
    app.share_model_api(
        &john,
        &direct,
        json!({ "userName": "jane", "role": "viewer" }),
    )
    .await
    .assert_status(201);
    let via_org = create_model_api(&app, &john, &johns_project, "m-org", "private").await;
    app.share_model_api(
        &john,
        &via_org,
        json!({ "organization": "team", "role": "viewer" }),
    )
    .await
    .assert_status(201);
    let via_project = create_model_api(&app, &john, &shared_project, "m-project", "private").await;
    let own = create_model_api(&app, &jane, &janes_project, "m-own", "private").await;
    janes_view.extend([
        direct.clone(),
        via_org.clone(),
        via_project.clone(),
        own.clone(),
    ]);
    janes_view.extend(public.iter().cloned());

    let creating = async {
        for i in 0..4 {
            create_model_api(&app, &john, &johns_project, &format!("late{i}"), "private").await;
        }
    };
    let (by_two, by_three) = (
        format!("{MODEL_APIS}?limit=2"),
        format!("{MODEL_APIS}?limit=3"),
    );
    let (seen_by_jane, seen_by_ann, seen_by_admin, ()) = tokio::join!(
        walk(&app, &by_two, &jane, "id"),
        walk(&app, &by_two, &ann, "id"),
        walk(&app, &by_three, &app.admin_token, "id"),
        creating,
    );
    assert_walk(&seen_by_jane, &janes_view, &johns_private);
    assert_eq!(
        seen_by_jane.len(),
        janes_view.len(),
        "jane saw more than hers: {seen_by_jane:?}"
    );
    // Ann shares nothing: the public ones only, on every page.
    assert_walk(&seen_by_ann, &public, &janes_view[..4]);
    assert_eq!(seen_by_ann.len(), public.len());
    // An administrator sees them all.
    let everything: Vec<String> = janes_view.iter().chain(&johns_private).cloned().collect();
    assert_walk(&seen_by_admin, &everything, &[]);
    // The count is the caller's, and search narrows the walk.
    let counted = app.get(&format!("{MODEL_APIS}?limit=1"), &ann).await;
    assert_eq!(counted.header("x-total-count"), Some("4"));
    let searched = walk(
        &app,
        &format!("{MODEL_APIS}?limit=1&search=PRIVATE"),
        &jane,
        "id",
    )
    .await;
    assert!(
        searched.is_empty(),
        "jane found john's private ones by search: {searched:?}"
    );
    let searched = walk(
        &app,
        &format!("{MODEL_APIS}?limit=1&search=private"),
        &john,
        "id",
    )
    .await;
    assert_walk(&searched, &johns_private, &public);
    // A literal % is no wildcard.
    let reply = app.get(&format!("{MODEL_APIS}?search=%25"), &john).await;
    assert_eq!(reply.body.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_account_and_projects_pages_page_through_the_users_own_rows_only() {
    let app = spawn_app().await;
    user_with_password(&app, "jane", "jane-password-1").await;
    app.create_user("john", &[]).await;
    let john = operator_token(&app.state, "john", "john-bootstrap").await;
    let jane = operator_token(&app.state, "jane", "jane-bootstrap").await;
    for i in 0..54 {
        app.create_pat(&jane, &format!("jane-{i:02}"), 86400).await;
        create_project(&app, &jane, &format!("jp-{i:02}"), None).await;
    }
    app.create_pat(&john, "johns-token", 86400).await;
    create_project(&app, &john, "johns-project", None).await;
    let mut browser = Browser::new(&app);
    browser.login("jane", "jane-password-1").await;
    for (path, noun, total, marker, foreign) in [
        (
            "/ui/account",
            "tokens",
            55,
            "data-token=\"jane-",
            "data-token=\"johns-token\"",
        ),
        (
            "/ui/projects",
            "projects",
            54,
            "data-project=\"jp-",
            "data-project=\"johns-project\"",
        ),
    ] {
        let first = browser.get(path).await;
        assert_eq!(first.status, 200);
        assert!(
            first.html.contains(&format!("1–50 of {total} {noun}")),
            "{}",
            first.html
        );
        assert!(link(&first.html, "prev").is_none());
        let next = link(&first.html, "next").expect("a next link");
        let second = browser.get(&next).await;
        assert_eq!(second.status, 200);
        assert!(
            second
                .html
                .contains(&format!("51–{total} of {total} {noun}")),
            "{}",
            second.html
        );
        assert!(link(&second.html, "next").is_none());
        assert!(link(&second.html, "prev").is_some());
        let rows = first.html.matches(marker).count() + second.html.matches(marker).count();
        assert_eq!(rows, total, "{path}: every row of jane's once");
        assert!(!first.html.contains(foreign) && !second.html.contains(foreign));
        // A cursor that is not one is the visitor's 400.
        assert_eq!(
            browser.get(&format!("{path}?cursor=nonsense")).await.status,
            400
        );
    }
}
