//! Listings page by keyset cursors (issue 19): a walk with `X-Next-Cursor` sees every row once
//! while rows are added and revoked in between, each filter's pages hold what the filter
//! selects, counts come with whether they are exact, and bad cursors and limits are 400s.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, spawn_app};

/// Follows `X-Next-Cursor` from `first` to the end; between pages, runs `between` with the page
/// number. Returns the ids in the order seen.
async fn walk<F, Fut>(app: &TestApp, first: &str, id_field: &str, mut between: F) -> Vec<String>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut seen = Vec::new();
    let mut path = first.to_string();
    for page in 0.. {
        let reply = app.admin_get(&path).await;
        reply.assert_status(200);
        let rows = reply.body.as_array().expect("a bare array");
        seen.extend(
            rows.iter()
                .map(|r| r[id_field].as_str().unwrap().to_string()),
        );
        let Some(next) = reply.header("x-next-cursor") else {
            break;
        };
        assert!(page < 200, "the walk does not end");
        let sep = if first.contains('?') { '&' } else { '?' };
        path = format!("{first}{sep}cursor={next}");
        between(page).await;
    }
    seen
}

fn ids(reply: &Reply, field: &str) -> Vec<String> {
    reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_str().unwrap().to_string())
        .collect()
}

fn total(reply: &Reply) -> (u64, bool) {
    (
        reply.header("x-total-count").unwrap().parse().unwrap(),
        reply.header("x-total-is-estimate").unwrap() == "true",
    )
}

#[tokio::test]
async fn a_cursor_walk_sees_every_token_once_while_tokens_are_created_and_revoked() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, john) = app.user_with_token("john", &[]).await;
    for i in 0..12 {
        app.create_pat(&jane, &format!("jane-{i}"), 30 * 86400)
            .await;
        app.create_pat(&john, &format!("john-{i}"), 30 * 86400)
            .await;
    }
    let before = app.admin_get("/api/pat/v1/admin/tokens?limit=1000").await;
    let existing = ids(&before, "patId");
    assert_eq!(total(&before), (existing.len() as u64, false));
    assert!(
        before.header("x-next-cursor").is_none(),
        "one page holds all"
    );

    // Between pages: a new token (newer than every cursor) and revocations ahead and behind.
    let mut k = 0;
    let seen = walk(&app, "/api/pat/v1/admin/tokens?limit=4", "patId", |page| {
        let (app, jane, existing) = (&app, jane.clone(), existing.clone());
        k += 1;
        let k = k;
        async move {
            app.create_pat(&jane, &format!("late-{k}"), 86400).await;
            let victim = &existing[(page * 7 + 3) % existing.len()];
            app.admin_post_empty(&format!("/api/pat/v1/admin/tokens/{victim}/invalidate"))
                .await;
        }
    })
    .await;
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a token was listed twice: {seen:?}"
    );
    for id in &existing {
        assert!(unique.contains(id), "token {id} was skipped");
    }
}

#[tokio::test]
async fn a_status_walk_holds_only_that_status_and_never_repeats_a_row() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let mut soon = Vec::new();
    for i in 0..9 {
        let pat = app
            .create_pat(&jane, &format!("soon-{i}"), 86400 + i * 60)
            .await;
        soon.push(pat["patId"].as_str().unwrap().to_string());
        app.create_pat(&jane, &format!("later-{i}"), 90 * 86400)
            .await;
    }
    // ExpiringSoon lists soonest first; revoking one ahead of the cursor drops it, nothing else.
    let dropped = soon[7].clone();
    let mut revoked = false;
    let seen = walk(
        &app,
        "/api/pat/v1/admin/tokens?status=ExpiringSoon&limit=2",
        "patId",
        |_| {
            let (app, dropped) = (&app, dropped.clone());
            let first = !revoked;
            revoked = true;
            async move {
                if first {
                    app.admin_post_empty(&format!("/api/pat/v1/admin/tokens/{dropped}/invalidate"))
                        .await
                        .assert_status(200);
                }
            }
        },
    )
    .await;
    let expected: Vec<String> = soon.iter().filter(|id| **id != dropped).cloned().collect();
    assert_eq!(
        seen, expected,
        "soonest first, each once, the revoked one gone"
    );

    let revoked = app
        .admin_get("/api/pat/v1/admin/tokens?status=Revoked")
        .await;
    assert_eq!(ids(&revoked, "patId"), vec![dropped]);
    assert_eq!(total(&revoked), (1, false));
    let active = app
        .admin_get("/api/pat/v1/admin/tokens?status=Active&userName=jane")
        .await;
    assert!(
        active
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "Active")
    );
    assert_eq!(total(&active).0, 10, "nine later-* and the bootstrap token");
}

#[tokio::test]
async fn search_matches_substrings_from_three_characters_and_prefixes_below() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let (_, phil) = app.user_with_token("phil", &[]).await;
    app.create_pat(&jane, "alpha-one", 86400).await;
    app.create_pat(&jane, "beta", 86400).await;
    app.create_pat(&phil, "gamma", 86400).await;
    let names = |search: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .admin_get(&format!("/api/pat/v1/admin/tokens?search={search}"))
                .await;
            reply.assert_status(200);
            let v = reply.owned_names();
            assert_eq!(total(&reply).0, v.len() as u64);
            v
        }
    };
    assert_eq!(names("pha").await, vec!["jane/alpha-one"]);
    assert_eq!(names("PHA-O").await, vec!["jane/alpha-one"]);
    // Two characters: the start of a token or user name only.
    assert_eq!(names("al").await, vec!["jane/alpha-one"]);
    assert_eq!(names("ph").await, vec!["phil/bootstrap", "phil/gamma"]);
    // Three or more: anywhere in either name.
    assert_eq!(names("hil").await, vec!["phil/bootstrap", "phil/gamma"]);
    assert_eq!(names("zzz").await, Vec::<String>::new());

    let users = app.admin_get("/api/admin/v1/users?search=hil").await;
    assert_eq!(ids(&users, "userName"), vec!["phil"]);
    let users = app.admin_get("/api/admin/v1/users?search=ja").await;
    assert_eq!(ids(&users, "userName"), vec!["jane"]);
    let users = app
        .admin_get("/api/admin/v1/users?search=example.com")
        .await;
    assert_eq!(
        total(&users).0,
        2,
        "jane and phil by e-mail: {:?}",
        users.body
    );
}

#[tokio::test]
async fn a_user_search_keeps_to_users_in_name_order_however_often_it_runs() {
    // Issue 19: a substring search starts from its index matches (SQLite: not from the kind's
    // name order; PostgreSQL: planned for its text each time, never a generic plan after five
    // runs), and the kind and the order still hold.
    let app = spawn_app().await;
    for name in ["zeta-ops", "mid", "alpha-ops", "ops"] {
        app.create_user(name, &[]).await;
    }
    app.service_account_token("ops-bot", "t").await;
    for run in 0..8 {
        let users = app.admin_get("/api/admin/v1/users?search=ops").await;
        users.assert_status(200);
        assert_eq!(
            ids(&users, "userName"),
            vec!["alpha-ops", "ops", "zeta-ops"],
            "run {run}: users only, by name"
        );
        assert_eq!(total(&users), (3, false), "run {run}");
        let page = app
            .admin_get("/api/admin/v1/users?search=OPS&limit=1&offset=1")
            .await;
        assert_eq!(ids(&page, "userName"), vec!["ops"], "run {run}");
        // The prefix rule of one or two characters keeps its own plan.
        let prefix = app.admin_get("/api/admin/v1/users?search=op").await;
        assert_eq!(ids(&prefix, "userName"), vec!["ops"], "run {run}");
    }
    let none = app.admin_get("/api/admin/v1/users?search=ops-bot").await;
    assert_eq!(total(&none), (0, false), "a service account is not a user");
}

#[tokio::test]
async fn users_and_the_audit_log_page_by_cursor_with_counts() {
    let app = spawn_app().await;
    for i in 0..7 {
        app.create_user(&format!("user-{i}"), &[]).await;
    }
    let all = app.admin_get("/api/admin/v1/users?limit=1000").await;
    let mut expected = ids(&all, "userName");
    let seen = walk(&app, "/api/admin/v1/users?limit=3", "userName", |i| {
        let app = &app;
        async move {
            // A user named after every cursor and one before: neither breaks the walk.
            app.create_user(&format!("zz-late-{i}"), &[]).await;
            app.create_user(&format!("aa-early-{i}"), &[]).await;
        }
    })
    .await;
    let early: Vec<&String> = seen.iter().filter(|n| n.starts_with("aa-")).collect();
    assert!(early.is_empty(), "{early:?}");
    let late: Vec<String> = seen
        .iter()
        .filter(|n| n.starts_with("zz-"))
        .cloned()
        .collect();
    expected.extend(late);
    assert_eq!(seen, expected, "by name, each once");

    let audit_all = app.admin_get("/api/admin/v1/audit?limit=1000").await;
    let count = audit_all.body.as_array().unwrap().len() as u64;
    assert_eq!(total(&audit_all), (count, false));
    let existing = ids(&audit_all, "id");
    let seen = walk(&app, "/api/admin/v1/audit?limit=5", "id", |i| {
        let app = &app;
        async move {
            app.create_user(&format!("during-{i}"), &[]).await;
        }
    })
    .await;
    assert_eq!(
        seen, existing,
        "newest first, each once, later entries not mixed in"
    );

    let created = app
        .admin_get("/api/admin/v1/audit?action=user.created&limit=2")
        .await;
    assert!(
        created
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "user.created")
    );
    assert!(total(&created).0 >= 7 && created.header("x-next-cursor").is_some());
    let target = app.admin_get("/api/admin/v1/audit?target=USER-3").await;
    assert_eq!(total(&target), (1, false), "{:?}", target.body);
}

#[tokio::test]
async fn bad_cursors_and_limits_are_400s_naming_the_field() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    for i in 0..3 {
        app.create_pat(&jane, &format!("t-{i}"), 86400).await;
    }
    let page = app.admin_get("/api/pat/v1/admin/tokens?limit=1").await;
    let cursor = page.header("x-next-cursor").unwrap().to_string();
    let users = app.admin_get("/api/admin/v1/users?limit=1").await;
    let user_cursor = users.header("x-next-cursor").unwrap().to_string();
    for path in [
        "/api/pat/v1/admin/tokens?cursor=not-a-cursor".to_string(),
        format!("/api/pat/v1/admin/tokens?cursor={user_cursor}"),
        // The order of a status filter is another order: its cursors are not interchangeable.
        format!("/api/pat/v1/admin/tokens?status=Expired&cursor={cursor}"),
        format!("/api/admin/v1/users?cursor={cursor}"),
        format!("/api/admin/v1/audit?cursor={cursor}"),
        "/api/serviceAccounts/v1/serviceAccounts?cursor=%01".to_string(),
    ] {
        let reply = app.admin_get(&path).await;
        reply.assert_status(400).assert_envelope();
        assert!(
            reply.error().contains("cursor"),
            "{path}: {}",
            reply.error()
        );
    }
    let both = app
        .admin_get(&format!(
            "/api/pat/v1/admin/tokens?offset=2&cursor={cursor}"
        ))
        .await;
    both.assert_status(400);
    assert!(both.error().contains("offset"), "{}", both.error());
    for limit in ["0", "1001", "-1", "many"] {
        let reply = app
            .admin_get(&format!("/api/pat/v1/admin/tokens?limit={limit}"))
            .await;
        reply.assert_status(400);
        assert!(
            reply.error().contains("limit"),
            "{limit}: {}",
            reply.error()
        );
    }
    app.admin_get("/api/pat/v1/admin/tokens?limit=1000")
        .await
        .assert_status(200);
    // Offsets still page, as Domino clients expect.
    let second = app
        .admin_get("/api/pat/v1/admin/tokens?limit=1&offset=1")
        .await;
    let by_cursor = app
        .admin_get(&format!("/api/pat/v1/admin/tokens?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(ids(&second, "patId"), ids(&by_cursor, "patId"));
    // Cursors open nothing to non-admins.
    let refused = app
        .get(&format!("/api/pat/v1/admin/tokens?cursor={cursor}"), &jane)
        .await;
    refused.assert_status(403);
    let refused = app.get("/api/admin/v1/audit?limit=1", &jane).await;
    refused.assert_status(403);
}

#[tokio::test]
async fn bulk_revoke_by_search_applies_to_every_match_not_only_a_page() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    for i in 0..6 {
        app.create_pat(&jane, &format!("ci-runner-{i}"), 86400)
            .await;
    }
    app.create_pat(&jane, "laptop", 30 * 86400).await;
    let reply = app
        .admin_post(
            "/api/pat/v1/admin/tokens/invalidate",
            json!({ "search": "runner" }),
        )
        .await;
    reply.assert_status(200);
    assert_eq!(reply.body["count"], json!(6));
    let left: Value = app
        .admin_get("/api/pat/v1/admin/tokens?userName=jane&status=Active")
        .await
        .body;
    let mut names: Vec<&str> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["bootstrap", "laptop"]);
}
