//! The web UI's project pages over HTTP: creating a project, its collaborators managed by the
//! owner only, and model APIs created from it by Owners and Contributors only.

use crate::cases::ui::{Browser, user_with_password};
use crate::helpers::spawn_app;

#[tokio::test]
async fn projects_are_created_and_their_collaborators_managed_by_the_owner_only() {
    let app = spawn_app().await;
    user_with_password(&app, "olga", "olga-password-12").await;
    user_with_password(&app, "carl", "carl-password-12").await;
    user_with_password(&app, "rita", "rita-password-12").await;
    let mut olga = Browser::new(&app);
    olga.login("olga", "olga-password-12").await;
    let csrf = olga.csrf().await;

    let bad = olga
        .post(
            "/ui/projects",
            &[("csrf", &csrf), ("name", ""), ("description", "typed")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.html.contains("id=\"project-name-error\"") && bad.html.contains("value=\"typed\""));
    let made = olga
        .post(
            "/ui/projects",
            &[
                ("csrf", &csrf),
                ("name", "churn"),
                ("visibility", "private"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.html);
    let project = made.location.clone().unwrap();
    let id = project.rsplit('/').next().unwrap().to_string();
    assert!(
        olga.get("/ui/projects")
            .await
            .html
            .contains("data-project=\"churn\"")
    );

    for (who, role) in [("carl", "Contributor"), ("rita", "ResultsConsumer")] {
        let added = olga
            .post(
                &format!("/ui/projects/{id}/collaborators"),
                &[("csrf", &csrf), ("user_name", who), ("role", role)],
            )
            .await;
        assert_eq!(added.status, 303, "{}", added.html);
    }
    let unknown = olga
        .post(
            &format!("/ui/projects/{id}/collaborators"),
            &[
                ("csrf", &csrf),
                ("user_name", "nobody"),
                ("role", "Contributor"),
            ],
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.html.contains("there is no user nobody"));
    let page = olga.get(&project).await;
    assert!(
        page.html.contains("data-collaborator=\"carl\"")
            && page.html.contains("data-collaborator=\"rita\"")
    );

    // Collaborators are not offered managing, and are refused it.
    let mut carl = Browser::new(&app);
    carl.login("carl", "carl-password-12").await;
    let carl_csrf = carl.csrf().await;
    let page = carl.get(&project).await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains("Add a collaborator"));
    let refused = carl
        .post(
            &format!("/ui/projects/{id}/collaborators"),
            &[
                ("csrf", &carl_csrf),
                ("user_name", "rita"),
                ("role", "Owner"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);

    // Contributors create model APIs from the project; results consumers may not.
    let created = carl
        .post(
            &format!("/ui/projects/{id}/models"),
            &[
                ("csrf", &carl_csrf),
                ("name", "scorer"),
                ("kind", "sync"),
                ("visibility", "private"),
                ("authorization", "restricted"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.html);
    assert!(created.location.unwrap().starts_with("/ui/models/"));
    let mut rita = Browser::new(&app);
    rita.login("rita", "rita-password-12").await;
    let rita_csrf = rita.csrf().await;
    let refused = rita
        .post(
            &format!("/ui/projects/{id}/models"),
            &[
                ("csrf", &rita_csrf),
                ("name", "mine"),
                ("kind", "sync"),
                ("visibility", "private"),
                ("authorization", "restricted"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(
        rita.get(&project).await.html.contains("scorer"),
        "project members see its model APIs"
    );

    let rita_id = app.admin_get("/api/admin/v1/users?search=rita").await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let removed = olga
        .post(
            &format!("/ui/projects/{id}/collaborators/{rita_id}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(removed.status, 303);
    assert!(
        !olga
            .get(&project)
            .await
            .html
            .contains("data-collaborator=\"rita\"")
    );
    assert_eq!(
        rita.get(&project).await.status,
        404,
        "a private project is hidden from former members"
    );
}
