//! The model API listing at scale (issue 19): a user's count is every model API she may see,
//! each once, however she reaches it, and no other; a page's collaborators (read for the whole
//! page at once) decide each row's visibility for the right users only; and a search pages
//! through the same rows in the same order whether a page is found by walking the name order
//! (common matches, small pages) or by the search index (rare matches, large pages, the walk
//! finding too few).

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::cases::own_paging::{Reach, create_project};
use crate::helpers::{TestApp, spawn_app};

const MODEL_APIS: &str = "/api/modelServing/v1/modelApis";

fn id_of(reply: &Value) -> String {
    reply["id"].as_str().unwrap().to_string()
}

async fn create_model_api(
    app: &TestApp,
    token: &str,
    project: &str,
    name: &str,
    visibility: &str,
    description: &str,
) -> String {
    let reply = app
        .post(
            MODEL_APIS,
            token,
            json!({ "name": name, "projectId": project, "kind": "sync", "visibility": visibility,
                    "authorization": "restricted", "description": description }),
        )
        .await;
    reply.assert_status(201);
    id_of(&reply.body)
}

/// Follows `X-Next-Cursor` from `first` (which has a query string) to the end as `token`: the
/// ids in the order seen, and the first page's `X-Total-Count` and `X-Total-Is-Estimate`.
async fn walk(app: &TestApp, first: &str, token: &str) -> (Vec<String>, String, String) {
    let mut seen = Vec::new();
    let mut path = first.to_string();
    let mut total = None;
    for page in 0.. {
        let reply = app.get(&path, token).await;
        reply.assert_status(200);
        total.get_or_insert_with(|| {
            (
                reply.header("x-total-count").unwrap().to_string(),
                reply.header("x-total-is-estimate").unwrap().to_string(),
            )
        });
        seen.extend(
            reply
                .body
                .as_array()
                .expect("a bare array")
                .iter()
                .map(id_of),
        );
        let Some(next) = reply.header("x-next-cursor") else {
            break;
        };
        assert!(page < 1000, "the walk does not end");
        path = format!("{first}&cursor={next}");
    }
    let (count, estimate) = total.unwrap();
    (seen, count, estimate)
}

fn set(ids: &[String]) -> HashSet<String> {
    ids.iter().cloned().collect()
}

#[tokio::test]
async fn a_users_count_is_every_model_api_she_may_see_each_once_however_reached_and_no_other() {
    let app = spawn_app().await;
    let Reach {
        jane,
        john,
        ann,
        johns,
        shared,
        janes,
    } = Reach::new(&app).await;

    let mut public = Vec::new();
    let mut hidden = Vec::new();
    for i in 0..3 {
        public.push(create_model_api(&app, &john, &johns, &format!("p{i}"), "public", "").await);
        hidden.push(create_model_api(&app, &john, &johns, &format!("q{i}"), "private", "").await);
    }
    // Jane reaches private ones directly, through her organization, through the project, as
    // owner, and one every way at once (still one row).
    let direct = create_model_api(&app, &john, &johns, "r-direct", "private", "").await;
    app.share_model_api(
        &john,
        &direct,
        json!({ "userName": "jane", "role": "viewer" }),
    )
    .await
    .assert_status(201);
    let via_org = create_model_api(&app, &john, &johns, "r-org", "private", "").await;
    app.share_model_api(
        &john,
        &via_org,
        json!({ "organization": "team", "role": "viewer" }),
    )
    .await
    .assert_status(201);
    let via_project = create_model_api(&app, &john, &shared, "r-project", "private", "").await;
    let own = create_model_api(&app, &jane, &janes, "r-own", "private", "").await;
    let every_way = create_model_api(&app, &john, &shared, "r-every-way", "private", "").await;
    for grantee in [
        json!({ "userName": "jane", "role": "editor" }),
        json!({ "organization": "team", "role": "viewer" }),
    ] {
        app.share_model_api(&john, &every_way, grantee)
            .await
            .assert_status(201);
    }
    // Ann reaches one private one, on the same page as jane's: each sees only their own.
    let anns = create_model_api(&app, &john, &johns, "r-ann", "private", "").await;
    app.share_model_api(&john, &anns, json!({ "userName": "ann", "role": "viewer" }))
        .await
        .assert_status(201);

    let janes_view: Vec<String> = public
        .iter()
        .cloned()
        .chain([direct, via_org, via_project, own, every_way])
        .collect();
    let anns_view: Vec<String> = public.iter().cloned().chain([anns.clone()]).collect();
    for (who, token, view) in [("jane", &jane, &janes_view), ("ann", &ann, &anns_view)] {
        for limit in [1, 1000] {
            let (seen, count, estimate) =
                walk(&app, &format!("{MODEL_APIS}?limit={limit}"), token).await;
            assert_eq!(set(&seen), set(view), "{who} (limit {limit}) saw {seen:?}");
            assert_eq!(seen.len(), view.len(), "{who} saw a row twice: {seen:?}");
            assert_eq!(count, view.len().to_string(), "{who}'s count");
            assert_eq!(estimate, "false");
        }
    }
    // John sees his own, not jane's; an administrator counts every one.
    let (seen, count, _) = walk(&app, &format!("{MODEL_APIS}?limit=1000"), &john).await;
    assert!(
        !seen.contains(&janes_view[6]),
        "john saw jane's own private model API"
    );
    assert_eq!(count, (seen.len()).to_string());
    assert_eq!(seen.len(), public.len() + hidden.len() + 5);
    let (seen, count, _) = walk(&app, &format!("{MODEL_APIS}?limit=1000"), &app.admin_token).await;
    assert_eq!(
        (seen.len(), count),
        (public.len() + hidden.len() + 6, "12".to_string())
    );
    // A search counts the same way: jane's private "r-…" ones, not ann's.
    let (seen, count, _) = walk(&app, &format!("{MODEL_APIS}?limit=2&search=r-"), &jane).await;
    assert_eq!(set(&seen), set(&janes_view[3..]));
    assert_eq!(count, "5");
}

/// Names of the search test: `n` model APIs in name order, every one's description holding
/// "common" and the last three's name holding "rare".
fn search_rows(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let name = if i + 3 >= n {
                format!("m{i:04}-rare")
            } else {
                format!("m{i:04}")
            };
            (name, format!("the common model {i}"))
        })
        .collect()
}

#[tokio::test]
async fn a_search_pages_the_same_rows_in_the_same_order_by_walk_or_by_index() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let project = create_project(&app, &jane, "many", None).await;
    // More rows than a walk reads (200), so that a rare search's walk finds too few and the
    // index answers.
    let rows = search_rows(230);
    let mut by_name = Vec::new();
    for (name, description) in &rows {
        by_name.push(create_model_api(&app, &jane, &project, name, "private", description).await);
    }
    let rare: Vec<String> = by_name[by_name.len() - 3..].to_vec();
    for (search, expected) in [
        ("common", &by_name),
        ("rare", &rare),
        ("RARE", &rare),
        ("m00", &by_name[..100].to_vec()),
    ] {
        // Pages of 3 and 50 are walked first; pages of 1,000 go to the index at once.
        for limit in [3, 50, 1000] {
            let first = format!("{MODEL_APIS}?limit={limit}&search={search}");
            for (who, token) in [("jane", &jane), ("admin", &app.admin_token)] {
                let (seen, count, estimate) = walk(&app, &first, token).await;
                assert_eq!(
                    &seen, expected,
                    "{who} searched {search:?} by pages of {limit}"
                );
                assert_eq!(
                    (count, estimate),
                    (expected.len().to_string(), "false".to_string())
                );
            }
        }
        // An offset page is the same slice of the order.
        let reply = app
            .get(
                &format!("{MODEL_APIS}?limit=5&offset=2&search={search}"),
                &jane,
            )
            .await;
        let page: Vec<String> = reply.body.as_array().unwrap().iter().map(id_of).collect();
        let slice: Vec<String> = expected.iter().skip(2).take(5).cloned().collect();
        assert_eq!(page, slice, "offset page of {search:?}");
    }
    // Nothing matches: an empty page, not an error, however it is asked.
    for limit in [1, 1000] {
        let (seen, count, _) = walk(
            &app,
            &format!("{MODEL_APIS}?limit={limit}&search=absent"),
            &jane,
        )
        .await;
        assert!(seen.is_empty());
        assert_eq!(count, "0");
    }
}
