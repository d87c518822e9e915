//! Derived tokens die with their source (SPEC section 2), and the realm's OAuth/OIDC edges as
//! Keycloak answers them (SPEC section 4): `invalid_request` and `invalid_target`, requested
//! audiences, CORS on the public documents, absent claims left out, userinfo by form.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cases::realm::{access_token, verify_with_jwks};
use crate::helpers::{Auth, TestApp, spawn_app, spawn_app_with};

const REALM: &str = "/auth/realms/DominoRealm";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

async fn exchange_with(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .client
        .post(format!(
            "{}{REALM}/protocol/openid-connect/token",
            app.address
        ))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// A user with a PAT made through the API: (PAT secret, PAT id).
async fn pat_of(app: &TestApp, user: &str, name: &str, expires_in: i64) -> (String, String) {
    let (_, bootstrap) = app.user_with_token(user, &[]).await;
    let pat = app.create_pat(&bootstrap, name, expires_in).await;
    (
        pat["token"].as_str().unwrap().to_string(),
        pat["patId"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_jwt_carries_its_source_as_sid_and_never_outlives_it() {
    let app = spawn_app().await;
    let (pat, pat_id) = pat_of(&app, "jane", "short", 60).await;
    let (status, body) =
        exchange_with(&app, &[("grant_type", EXCHANGE), ("subject_token", &pat)]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["expires_in"].as_i64().unwrap() <= 60, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let claims = verify_with_jwks(&app, token).await;
    assert_eq!(claims["sid"], pat_id.as_str());
    let listed = app.get("/api/pat/v1/tokens", &pat).await;
    let expires_at = listed.body[0]["expiresAt"].as_str().unwrap();
    let source_expiry = chrono::DateTime::parse_from_rfc3339(expires_at)
        .unwrap()
        .timestamp();
    assert!(claims["exp"].as_i64().unwrap() <= source_expiry);
}

#[tokio::test]
async fn revoking_or_deleting_the_source_ends_every_jwt_minted_from_it() {
    let app = spawn_app().await;
    for how in [
        "revoke",
        "revoke all",
        "delete",
        "delete all",
        "rotate",
        "deactivate",
    ] {
        let user = format!("u-{}", how.replace(' ', "-"));
        let (pat, pat_id) = pat_of(&app, &user, "source", 3600).await;
        let jwt = access_token(&app, &pat).await;
        // Used once, so that it is cached on this node.
        app.assert_whoami(Auth::Bearer(&jwt), 200).await;
        let user_id = app.get("/v4/users/self", &pat).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (method, path, token, expected) = match how {
            "revoke" => (
                Method::POST,
                format!("/api/pat/v1/tokens/{pat_id}/invalidate"),
                &pat,
                200,
            ),
            "revoke all" => (
                Method::POST,
                "/api/pat/v1/tokens/invalidate".into(),
                &pat,
                200,
            ),
            "delete" => (
                Method::DELETE,
                format!("/api/pat/v1/tokens/{pat_id}"),
                &pat,
                204,
            ),
            "delete all" => (Method::DELETE, "/api/pat/v1/tokens".into(), &pat, 200),
            "rotate" => (
                Method::POST,
                format!("/api/pat/v1/tokens/{pat_id}/rotate"),
                &pat,
                201,
            ),
            _ => (
                Method::POST,
                format!("/api/admin/v1/users/{user_id}/deactivate"),
                &app.admin_token,
                200,
            ),
        };
        app.send(method, &path, Auth::Bearer(token), None)
            .await
            .assert_status(expected);
        let refused = app.get("/v4/users/self", &jwt).await;
        assert_eq!(refused.status.as_u16(), 401, "{how}: {refused:?}");
        // Nor can it make itself a long-lived credential.
        let escalate = app
            .post(
                "/api/pat/v1/tokens",
                &jwt,
                json!({ "name": "forever", "expiresIn": 31_536_000 }),
            )
            .await;
        assert_eq!(escalate.status.as_u16(), 401, "{how}: {escalate:?}");
        let key = app.post_empty("/api/apiKey/v1/regenerate", &jwt).await;
        assert_eq!(key.status.as_u16(), 401, "{how}: {key:?}");
    }
}

#[tokio::test]
async fn a_jwt_whose_source_lives_keeps_working() {
    let app = spawn_app().await;
    let (pat, _) = pat_of(&app, "jane", "source", 3600).await;
    let (_, other_id) = {
        let other = app.create_pat(&pat, "other", 3600).await;
        (
            other["token"].as_str().unwrap().to_string(),
            other["patId"].as_str().unwrap().to_string(),
        )
    };
    let jwt = access_token(&app, &pat).await;
    // Revoking another PAT of the same user leaves this JWT alone.
    app.post_empty(&format!("/api/pat/v1/tokens/{other_id}/invalidate"), &pat)
        .await
        .assert_status(200);
    app.assert_whoami(Auth::Bearer(&jwt), 200).await;
}

#[tokio::test]
async fn a_cached_jwt_is_served_from_memory_and_a_copy_with_another_payload_is_not() {
    let app = spawn_app().await;
    let (pat, _) = pat_of(&app, "jane", "source", 3600).await;
    let jwt = access_token(&app, &pat).await;
    app.assert_whoami(Auth::Bearer(&jwt), 200).await;
    let lookups = || app.state.authenticator.store_lookups();
    let before = lookups();
    app.assert_whoami(Auth::Bearer(&jwt), 200).await;
    assert_eq!(lookups(), before, "the second use is served from the cache");
    // The cached token's signature under another payload (one claim changed): not the cached
    // token, so verified in full, and refused.
    let mut parts = jwt.split('.');
    let (header, _, signature) = (parts.next(), parts.next(), parts.next());
    let mut claims = claims_of(&jwt);
    claims["exp"] = json!(claims["exp"].as_i64().unwrap_or_default() + 3600);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let forged = format!(
        "{}.{payload}.{}",
        header.unwrap_or_default(),
        signature.unwrap_or_default()
    );
    app.assert_whoami(Auth::Bearer(&forged), 401).await;
    // Bearer text that is not a JWT's, however long, is refused as before.
    let not_a_jwt = format!("{jwt}!");
    app.assert_whoami(Auth::Bearer(&not_a_jwt), 401).await;
    app.assert_whoami(Auth::Bearer(&"a.b.c".repeat(4000)), 401)
        .await;
    app.assert_whoami(Auth::Bearer(&jwt), 200).await;
}

#[tokio::test]
async fn two_role_changes_within_one_second_both_refuse_the_tokens_before_them() {
    let app = spawn_app().await;
    let (id, _) = app.user_with_token("jane", &["Practitioner"]).await;
    let path = format!("/api/admin/v1/users/{id}/roles");
    for _ in 0..5 {
        app.admin_put(&path, json!({ "roles": ["Practitioner", "Librarian"] }))
            .await
            .assert_status(200);
        // Minted between the two changes (role changes revoke PATs: a fresh one each time).
        let pat = operator_pat(&app, "jane").await;
        let between = access_token(&app, &pat).await;
        assert_eq!(
            claims_of(&between)["realm_access"]["roles"],
            json!(["Practitioner", "Librarian"])
        );
        app.admin_put(&path, json!({ "roles": ["Practitioner"] }))
            .await
            .assert_status(200);
        let reply = app.get("/v4/users/self", &between).await;
        assert_eq!(
            reply.status.as_u16(),
            401,
            "a token minted between two role changes kept the removed role: {reply:?}"
        );
    }
    // A token minted after the last change is good.
    let pat = operator_pat(&app, "jane").await;
    let after = access_token(&app, &pat).await;
    app.assert_whoami(Auth::Bearer(&after), 200).await;
}

/// A fresh PAT of `user` with a unique name, made the operator's way.
async fn operator_pat(app: &TestApp, user: &str) -> String {
    let name = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    crate::helpers::operator_token(&app.state, user, &name).await
}

#[tokio::test]
async fn an_audience_the_realm_cannot_serve_is_invalid_target_and_a_known_one_is_the_aud() {
    let app = spawn_app_with(|c| {
        c.realm.audience = vec!["domino-platform".into(), "billing".into()];
    })
    .await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    for (param, value) in [
        ("audience", "billing-service-that-does-not-exist"),
        ("resource", "https://elsewhere.example/api"),
    ] {
        let (status, body) = exchange_with(
            &app,
            &[
                ("grant_type", EXCHANGE),
                ("subject_token", &pat),
                (param, value),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_target")),
            "{body}"
        );
        assert!(body["error_description"].as_str().unwrap().contains(value));
    }
    let (status, body) = exchange_with(
        &app,
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &pat),
            ("audience", "billing"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(token)["aud"], json!(["billing"]));
    // Tessera accepts it too: it is one of its audiences.
    app.assert_whoami(Auth::Bearer(token), 200).await;
    // Without an audience, the configured one.
    let default = access_token(&app, &pat).await;
    assert_eq!(
        claims_of(&default)["aud"],
        json!(["domino-platform", "billing"])
    );
}

#[tokio::test]
async fn the_public_documents_answer_cross_origin_requests_and_preflights() {
    let app = spawn_app().await;
    for path in [
        REALM.to_string(),
        format!("{REALM}/protocol/openid-connect/certs"),
        format!("{REALM}/.well-known/openid-configuration"),
    ] {
        let get = app
            .client
            .get(format!("{}{path}", app.address))
            .header("origin", "https://app.example")
            .send()
            .await
            .unwrap();
        assert_eq!(get.status().as_u16(), 200, "{path}");
        assert_eq!(get.headers()["access-control-allow-origin"], "*", "{path}");
        let preflight = app
            .client
            .request(Method::OPTIONS, format!("{}{path}", app.address))
            .header("origin", "https://app.example")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert!(
            preflight.status().is_success(),
            "{path}: {}",
            preflight.status()
        );
        assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
        assert!(
            preflight.headers()["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("GET")
        );
    }
    // The token endpoint is not opened to browsers.
    let token = app
        .client
        .post(format!(
            "{}{REALM}/protocol/openid-connect/token",
            app.address
        ))
        .header("origin", "https://app.example")
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert!(token.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn claims_without_a_value_are_left_out_of_tokens_and_userinfo() {
    let app = spawn_app().await;
    let token = app.service_account_token("pipeline", "ci").await;
    let jwt = access_token(&app, &token).await;
    let claims = verify_with_jwks(&app, &jwt).await;
    for absent in ["email", "given_name", "family_name"] {
        assert!(claims.get(absent).is_none(), "{absent} in {claims}");
    }
    let info = app
        .get(&format!("{REALM}/protocol/openid-connect/userinfo"), &jwt)
        .await;
    info.assert_status(200);
    for absent in ["email", "given_name", "family_name"] {
        assert!(
            info.body.get(absent).is_none(),
            "{absent} in {:?}",
            info.body
        );
    }
    assert!(!info.body.to_string().contains("null"));
    assert_eq!(info.body["preferred_username"], "pipeline");
}

#[tokio::test]
async fn userinfo_takes_the_token_in_a_posted_form_but_not_twice() {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let jwt = access_token(&app, &pat).await;
    let url = format!("{}{REALM}/protocol/openid-connect/userinfo", app.address);
    let form = app
        .client
        .post(&url)
        .form(&[("access_token", jwt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200);
    assert_eq!(
        form.json::<Value>().await.unwrap()["preferred_username"],
        "jane"
    );
    let header = app
        .send(
            Method::POST,
            "/auth/realms/DominoRealm/protocol/openid-connect/userinfo",
            Auth::Bearer(&jwt),
            None,
        )
        .await;
    header.assert_status(200);
    let twice = app
        .client
        .post(&url)
        .bearer_auth(&jwt)
        .form(&[("access_token", jwt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status().as_u16(), 400);
    // A PAT is not an access token of the realm, in the body either.
    let pat_in_body = app
        .client
        .post(&url)
        .form(&[("access_token", pat.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(pat_in_body.status().as_u16(), 401);
    assert!(
        pat_in_body.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // RFC 6750 §3.1, as Keycloak answers: an OAuth error body, not the API's envelope.
    let body: Value = pat_in_body.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token", "{body}");
}

#[tokio::test]
async fn an_expired_source_ends_its_jwt_even_while_cached() {
    let app = spawn_app().await;
    let (pat, _) = pat_of(&app, "jane", "brief", 2).await;
    let jwt = access_token(&app, &pat).await;
    app.assert_whoami(Auth::Bearer(&jwt), 200).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    app.assert_whoami(Auth::Bearer(&jwt), 401).await;
}

#[tokio::test]
async fn through_the_gateway_the_jwt_forwarded_carries_the_source_and_dies_with_it() {
    let (app, up) = crate::cases::gateway::gateway_app().await;
    let (pat, pat_id) = pat_of(&app, "jane", "gw", 3600).await;
    let jwt = access_token(&app, &pat).await;
    for credential in [&pat, &jwt] {
        let reply = app.get("/api/jobs/v1/jobs", credential).await;
        reply.assert_status(200);
        let forwarded = reply.body["headers"]["authorization"]
            .as_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap()
            .to_string();
        let claims = verify_with_jwks(&app, &forwarded).await;
        assert_eq!(
            claims["sid"],
            pat_id.as_str(),
            "the upstream's token names the source"
        );
    }
    let hits = up.hits.load(std::sync::atomic::Ordering::SeqCst);
    app.post_empty(&format!("/api/pat/v1/tokens/{pat_id}/invalidate"), &pat)
        .await
        .assert_status(200);
    for credential in [&pat, &jwt] {
        app.get("/api/jobs/v1/jobs", credential)
            .await
            .assert_status(401);
    }
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::SeqCst), hits);
}
