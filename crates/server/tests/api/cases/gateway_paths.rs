//! A route's prefix is a boundary (SPEC section 5), with a real upstream on a real port: paths
//! are made canonical before routing, the upstream sees only canonical paths under its prefix,
//! and every spelling of a climb out of a route, a hidden separator or a NUL is a 400 with the
//! envelope. Requests go over raw TCP, since client libraries resolve dot segments themselves.

use std::sync::atomic::Ordering;

use crate::cases::gateway::gateway_app;
use crate::cases::raw_http::{RawResponse, get, send};

#[track_caller]
fn assert_refused(reply: &RawResponse, path: &str, naming: &str) {
    assert_eq!(reply.status, 400, "{path}: {reply:?}");
    let body = reply.json();
    let message = body["errors"][0].as_str().unwrap_or_default();
    assert!(message.contains(naming), "{path}: {message:?}");
    assert!(
        body["requestId"].as_str().is_some_and(|id| !id.is_empty()),
        "{path}: no envelope in {body}"
    );
}

#[tokio::test]
async fn every_spelling_of_a_climb_out_of_a_route_is_refused_before_the_upstream() {
    let (app, up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &["Practitioner"]).await;
    for path in [
        "/api/jobs/../../internal/secret.txt",
        "/api/jobs/%2e%2e/%2e%2e/internal/secret.txt",
        "/api/jobs/%2E%2E/%2E%2E/internal/secret.txt",
        "/api/jobs/%2E./.%2e/internal/secret.txt",
        "/api/jobs/a/../../../internal/secret.txt",
        "/api/jobs/a//../../internal/secret.txt",
        "/api/jobs/..",
        "/api/jobs/../",
        "/api/%6aobs/../../internal/secret.txt",
        "/api/./jobs/../../internal/secret.txt",
        "/api/idle/../jobs/x",
        "/api/jobs/../../internal/secret.txt?x=1",
    ] {
        let reply = send(&app.address, &get(path, Some(&pat), &[])).await;
        assert_refused(&reply, path, "climbs out of the gateway route");
    }
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        0,
        "the upstream was reached"
    );
}

#[tokio::test]
async fn hidden_separators_nuls_and_disguised_dots_are_refused_before_the_upstream() {
    let (app, up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &["Practitioner"]).await;
    for (path, naming) in [
        ("/api/jobs/..%2F..%2Finternal/secret.txt", "%2F"),
        ("/api/jobs/..%2f..%2finternal/secret.txt", "%2F"),
        ("/api/jobs/..%5C..%5Cinternal/secret.txt", "backslash"),
        ("/api/jobs/..%5c..%5cinternal/secret.txt", "backslash"),
        ("/api/jobs/..\\..\\internal\\secret.txt", "backslash"),
        ("/api/jobs/secret.txt%00.json", "NUL"),
        (
            "/api/jobs/..;/..;/internal/secret.txt",
            "dot segment with parameters",
        ),
        ("/api/jobs/%2e%2e;x/internal", "dot segment with parameters"),
        ("/api/jobs/%c0%ae%c0%ae/%c0%ae%c0%ae/internal", "not UTF-8"),
        ("/api/jobs/%c0%af", "not UTF-8"),
        ("/api/jobs/%zz", "'%'"),
    ] {
        let reply = send(&app.address, &get(path, Some(&pat), &[])).await;
        assert_refused(&reply, path, naming);
    }
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        0,
        "the upstream was reached"
    );
}

#[tokio::test]
async fn tesseras_own_api_cannot_be_reached_through_a_gateway_route() {
    let (app, _up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &["Practitioner"]).await;
    for path in [
        "/api/jobs/../../api/admin/v1/users",
        "/api/jobs/%2e%2e/%2e%2e/api/admin/v1/users",
        "/api/jobs/../../v4/users/self",
    ] {
        for token in [None, Some(pat.as_str())] {
            let reply = send(&app.address, &get(path, token, &[])).await;
            assert_refused(&reply, path, "climbs out of the gateway route");
        }
    }
}

#[tokio::test]
async fn the_upstream_receives_the_canonical_path_and_the_query_as_it_was() {
    let (app, up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &["Practitioner"]).await;
    for (path, seen, query) in [
        (
            "/api/jobs/a/./b/../c//d?x=%2e%2e&y=../..",
            "/api/jobs/a/c/d",
            Some("x=%2e%2e&y=../.."),
        ),
        ("/api/%6Aobs/v1/%7ejobs", "/api/jobs/v1/~jobs", None),
        ("//api/jobs//v1/jobs", "/api/jobs/v1/jobs", None),
        ("/api/jobs/v1/x/%2E", "/api/jobs/v1/x/", None),
        (
            "/api/jobs/%252e%252e/%252fx",
            "/api/jobs/%252e%252e/%252fx",
            None,
        ),
        (
            "/api/jobs/a%3ab/caf%c3%a9",
            "/api/jobs/a%3Ab/caf%C3%A9",
            None,
        ),
        ("/api/jobs/.env;v=1/x", "/api/jobs/.env;v=1/x", None),
    ] {
        let reply = send(&app.address, &get(path, Some(&pat), &[])).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        let body = reply.json();
        assert_eq!(body["path"], seen, "{path}");
        assert_eq!(body["query"].as_str(), query, "{path}");
    }
    assert_eq!(up.hits.load(Ordering::SeqCst), 7);
}

#[tokio::test]
async fn a_route_reached_through_dot_segments_from_elsewhere_is_authenticated_like_any_other() {
    let (app, up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &["Practitioner"]).await;
    for (done, path) in ["/api/other/../jobs/v1/jobs", "/ui/%2e%2e/api/jobs/v1/jobs"]
        .into_iter()
        .enumerate()
    {
        let refused = send(&app.address, &get(path, None, &[])).await;
        assert_eq!(refused.status, 401, "{path}: {refused:?}");
        assert_eq!(up.hits.load(Ordering::SeqCst), done, "{path}");
        let reply = send(&app.address, &get(path, Some(&pat), &[])).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        assert_eq!(reply.json()["path"], "/api/jobs/v1/jobs", "{path}");
    }
}

#[tokio::test]
async fn tesseras_own_paths_are_canonical_too_and_keep_their_authentication() {
    let (app, _up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &["Practitioner"]).await;
    let health = send(&app.address, &get("/nowhere/../healthz", None, &[])).await;
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(health.text(), "ok");
    let me = send(&app.address, &get("/v4/./users//self", Some(&pat), &[])).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.json()["userName"], "jane", "{me:?}");
    let anonymous = send(&app.address, &get("/api/jobs/../admin/v1/users", None, &[])).await;
    assert_refused(&anonymous, "/api/jobs/../admin", "climbs out");
    let admin = send(&app.address, &get("/x/../api/admin/v1/users", None, &[])).await;
    assert_eq!(admin.status, 401, "{admin:?}");
    let not_admin = send(
        &app.address,
        &get("/x/../api/admin/v1/users", Some(&pat), &[]),
    )
    .await;
    assert_eq!(not_admin.status, 403, "{not_admin:?}");
    let nowhere = send(&app.address, &get("/nowhere/./x", Some(&pat), &[])).await;
    assert_eq!(nowhere.status, 404, "{nowhere:?}");
    for path in ["/../healthz", "/%2e%2e/healthz", "/nowhere/../../healthz"] {
        let reply = send(&app.address, &get(path, None, &[])).await;
        assert_refused(&reply, path, "above the root");
    }
    let nul = send(&app.address, &get("/healthz%00", None, &[])).await;
    assert_refused(&nul, "/healthz%00", "NUL");
}

#[tokio::test]
async fn the_login_page_is_sent_the_canonical_path_to_return_to() {
    let (app, _up) = gateway_app().await;
    let reply = send(&app.address, &get("/ui/x/..//account", None, &[])).await;
    let location = reply.header("location").unwrap_or_default();
    assert!(
        reply.status / 100 == 3 && location == "/ui/login?next=/ui/account",
        "{reply:?}"
    );
}

#[tokio::test]
async fn a_malformed_path_under_the_ui_gets_the_ui_error_page_and_the_apis_keeps_its_envelope() {
    let (app, _up) = gateway_app().await;
    for (path, naming) in [
        ("/ui/sso/corp/callback/..%2F..", "%2F"),
        ("/ui/account/..%5C..%5Cadmin", "backslash"),
        ("/ui/login/%zz", "not followed by two hex digits"),
        ("/ui/account?q=%00", "NUL"),
        ("/ui", ""),
    ] {
        let reply = send(&app.address, &get(path, None, &[])).await;
        if naming.is_empty() {
            assert_ne!(
                reply.status, 400,
                "{path}: a well-formed path is not refused"
            );
            continue;
        }
        assert_eq!(reply.status, 400, "{path}: {reply:?}");
        assert!(
            reply
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{path}: {reply:?}"
        );
        let html = reply.text();
        assert!(html.starts_with("<!doctype html>"), "{path}: {html}");
        assert!(html.contains(naming), "{path}: {naming} not in {html}");
        assert!(
            reply
                .header("content-security-policy")
                .is_some_and(|csp| csp.contains("frame-ancestors 'none'")),
            "{path}: the page carries the UI's headers: {reply:?}"
        );
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(reply.header("x-request-id").is_some(), "{path}");
    }
    // The same refusal on the API's paths is still the JSON envelope.
    for path in [
        "/api/pat/v1/tokens/..%2F..",
        "/v4/users/self?q=%00",
        "/uix/..%2F",
    ] {
        let reply = send(&app.address, &get(path, None, &[])).await;
        assert_eq!(reply.status, 400, "{path}: {reply:?}");
        assert!(
            reply.json()["requestId"].as_str().is_some(),
            "{path}: {reply:?}"
        );
    }
}
