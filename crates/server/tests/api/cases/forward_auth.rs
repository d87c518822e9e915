//! `/auth/verify` for nginx `auth_request`, ingress-nginx, Traefik and Envoy: every credential
//! kind passes with a JWT to forward, anything else is 401 with a challenge (the real nginx runs
//! in `crates/cli/tests/forward_auth.rs`).

use reqwest::Method;
use serde_json::json;

use crate::cases::realm::{access_token, verify_with_jwks};
use crate::helpers::{Auth, spawn_app};

#[tokio::test]
async fn every_credential_kind_passes_with_a_jwt_derived_from_it() {
    let app = spawn_app().await;
    let (id, pat) = app.user_with_token("jane", &[]).await;
    let key = app.regenerate_api_key(&pat).await;
    let jwt = access_token(&app, &pat).await;
    for (what, auth, method, path) in [
        ("PAT", Auth::Bearer(&pat), Method::GET, "/auth/verify"),
        (
            "API key",
            Auth::ApiKey(&key),
            Method::POST,
            "/auth/verify/api/jobs/v1/jobs",
        ),
        (
            "JWT",
            Auth::Bearer(&jwt),
            Method::DELETE,
            "/auth/verify/anything?x=1",
        ),
    ] {
        let reply = app.send(method, path, auth, None).await;
        assert_eq!(reply.status.as_u16(), 200, "{what}: {reply:?}");
        assert_eq!(reply.header("x-tessera-user"), Some("jane"), "{what}");
        assert_eq!(
            reply.header("x-tessera-subject"),
            Some(id.as_str()),
            "{what}"
        );
        let bearer = reply.header("authorization").unwrap();
        let token = bearer.strip_prefix("Bearer ").unwrap();
        let claims = verify_with_jwks(&app, token).await;
        assert_eq!(claims["sub"], id.as_str(), "{what}");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
}

#[tokio::test]
async fn a_missing_bad_or_revoked_credential_is_401_with_a_challenge() {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let other = app.create_pat(&pat, "other", 3600).await;
    let revoked = other["token"].as_str().unwrap().to_string();
    app.revoke_pat(&pat, &other).await;
    for (what, auth) in [
        ("nothing", Auth::None),
        ("a wrong PAT", Auth::Bearer("tpat_wrong")),
        ("a revoked PAT", Auth::Bearer(&revoked)),
        ("a foreign scheme", Auth::Raw("Digest x")),
    ] {
        let reply = app.send(Method::GET, "/auth/verify", auth, None).await;
        reply.assert_status(401).assert_envelope();
        assert!(reply.header("www-authenticate").is_some(), "{what}");
        assert!(reply.header("x-tessera-user").is_none(), "{what}");
        assert!(reply.header("authorization").is_none(), "{what}");
    }
    // A body from ext_authz with_request_body is ignored, not a 4xx.
    app.send(
        Method::POST,
        "/auth/verify/x",
        Auth::Bearer(&pat),
        Some(json!({"a": 1})),
    )
    .await
    .assert_status(200);
}

#[tokio::test]
async fn the_original_path_cannot_climb_onto_another_endpoint_of_tesseras() {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    for path in [
        "/auth/verify/../../healthz",
        "/auth/verify/%2e%2e/%2e%2e/healthz",
        "/auth/verify/x/../../../healthz",
        "/auth/verify/../../version",
        "/auth/verify/../realms/DominoRealm",
        "/auth/verify/..",
        "/auth/verify/../",
    ] {
        let reply = crate::cases::raw_http::send(
            &app.address,
            &crate::cases::raw_http::get(path, None, &[]),
        )
        .await;
        assert_eq!(
            reply.status,
            400,
            "{path} was answered {}: {}",
            reply.status,
            reply.text()
        );
        let with_pat = crate::cases::raw_http::send(
            &app.address,
            &crate::cases::raw_http::get(path, Some(&pat), &[]),
        )
        .await;
        assert_eq!(with_pat.status, 400, "{path} with a PAT");
    }
    // The proxy's path may be just "/" (nginx: `/auth/verify$request_uri`), or resolve inside.
    for path in ["/auth/verify/", "/auth/verify/x/..", "/auth/verify/a/./b"] {
        let anonymous = crate::cases::raw_http::send(
            &app.address,
            &crate::cases::raw_http::get(path, None, &[]),
        )
        .await;
        assert_eq!(anonymous.status, 401, "{path}");
        let allowed = crate::cases::raw_http::send(
            &app.address,
            &crate::cases::raw_http::get(path, Some(&pat), &[]),
        )
        .await;
        assert_eq!(allowed.status, 200, "{path}");
    }
}

#[tokio::test]
async fn two_credentials_in_one_request_are_refused_not_chosen_between() {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let two_lines = format!("Authorization: Bearer {pat}");
    for extra in [
        vec![two_lines.as_str(), "Authorization: Bearer tpat_x"],
        vec!["X-Domino-Api-Key: tkey_a", "X-Domino-Api-Key: tkey_b"],
    ] {
        let reply = crate::cases::raw_http::send(
            &app.address,
            &crate::cases::raw_http::get("/auth/verify", None, &extra),
        )
        .await;
        assert_eq!(reply.status, 401, "{extra:?}");
    }
    let one = crate::cases::raw_http::send(
        &app.address,
        &crate::cases::raw_http::get("/auth/verify", Some(&pat), &[]),
    )
    .await;
    assert_eq!(one.status, 200);
}
