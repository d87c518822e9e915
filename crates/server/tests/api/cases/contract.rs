//! The contract on the wire (SPEC section 3): `/openapi.json` and `/docs` are served; Domino
//! paths ignore fields and parameters they do not know and take whole-number float seconds;
//! Tessera's own paths refuse unknown fields naming them.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Auth, spawn_app};

#[tokio::test]
async fn the_openapi_document_and_its_reference_are_public() {
    let app = spawn_app().await;
    let doc = app
        .send(Method::GET, "/openapi.json", Auth::None, None)
        .await;
    doc.assert_status(200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    assert!(doc.body["paths"]["/api/pat/v1/tokens"]["post"].is_object());
    assert!(doc.body["components"]["securitySchemes"]["modelBasic"].is_object());
    let response = app
        .client
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("text/html"))
    );
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let page = response.text().await.unwrap();
    // The page's one inline stylesheet is the one the policy allows by its hash.
    let style = page
        .split("<style>")
        .nth(1)
        .and_then(|rest| rest.split("</style>").next())
        .expect("an inline stylesheet");
    let digest = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style.as_bytes()))
    };
    assert!(csp.contains(&format!("'sha256-{digest}'")), "{csp}");
    assert!(!page.contains(" style="), "inline style attributes would be blocked");
    assert!(page.contains("/api/pat/v1/tokens/{patId}/rotate"));
    assert!(page.contains("FailureEnvelope"));
    assert!(!page.contains("<script"), "the reference needs no script");
}

#[tokio::test]
async fn a_pat_lifetime_may_be_a_whole_number_written_as_a_float_but_not_a_fraction() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let created = app
        .post(
            "/api/pat/v1/tokens",
            &jane,
            json!({ "name": "float", "expiresIn": 86400.0 }),
        )
        .await;
    created.assert_status(201);
    assert!(created.body["expiresAt"].is_string());
    for fraction in [json!(86400.5), json!("86400"), json!(true)] {
        let refused = app
            .post(
                "/api/pat/v1/tokens",
                &jane,
                json!({ "name": "fraction", "expiresIn": fraction }),
            )
            .await;
        refused.assert_status(400).assert_envelope();
        assert!(
            refused.error().contains("expiresIn"),
            "{fraction}: {}",
            refused.error()
        );
    }
}

/// A whole number beyond any lifetime is out of range, not "not a whole number": the 400 names
/// the field and the bounds, however the number is written (float, beyond `i64`, beyond `u64`).
#[tokio::test]
async fn an_absurd_lifetime_is_refused_with_the_bounds_it_must_keep() {
    let app = spawn_app().await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let sa = app
        .post(
            "/api/serviceAccounts/v1/serviceAccounts",
            &app.admin_token,
            json!({ "username": "robot", "groups": [] }),
        )
        .await;
    sa.assert_status(201);
    let sa_tokens = format!(
        "/api/serviceAccounts/v1/serviceAccounts/{}/tokens",
        sa.body["id"].as_str().unwrap()
    );
    let absurd = [
        "1e300",
        "-1e300",
        "9223372036854775808",
        "18446744073709551616",
        "-9223372036854775809",
        "0",
        "0.0",
    ];
    for raw in absurd {
        for (path, token) in [("/api/pat/v1/tokens", &jane), (sa_tokens.as_str(), &app.admin_token)] {
            let number: serde_json::Value = serde_json::from_str(raw).unwrap();
            let refused = app
                .post(path, token, json!({ "name": "absurd", "expiresIn": number }))
                .await;
            refused.assert_status(400).assert_envelope();
            let message = refused.error();
            assert!(
                message.contains("expiresIn") && message.contains("from 1 to"),
                "{path} {raw}: {message}"
            );
        }
    }
}

#[tokio::test]
async fn a_service_account_token_lifetime_may_be_a_float_of_whole_seconds() {
    let app = spawn_app().await;
    let sa = app
        .post(
            "/api/serviceAccounts/v1/serviceAccounts",
            &app.admin_token,
            json!({ "username": "robot", "groups": [] }),
        )
        .await;
    sa.assert_status(201);
    let id = sa.body["id"].as_str().unwrap();
    let path = format!("/api/serviceAccounts/v1/serviceAccounts/{id}/tokens");
    app.post(
        &path,
        &app.admin_token,
        json!({ "name": "t1", "expiresIn": 3600.0 }),
    )
    .await
    .assert_status(201);
    let refused = app
        .post(
            &path,
            &app.admin_token,
            json!({ "name": "t2", "expiresIn": 0.25 }),
        )
        .await;
    refused.assert_status(400);
    assert!(refused.error().contains("expiresIn"), "{}", refused.error());
}

#[tokio::test]
async fn domino_paths_ignore_fields_and_parameters_they_do_not_know() {
    let app = spawn_app().await;
    let (jane_id, jane) = app.user_with_token("jane", &[]).await;
    // As dominodatalab 2.2.0's project_create_v4 sends it.
    let project = app
        .post(
            "/v4/projects",
            &jane,
            json!({ "name": "report", "visibility": "Public", "ownerId": jane_id,
                    "description": "", "collaborators": [], "tags": { "tagNames": [] },
                    "billingTag": { "tag": "x" } }),
        )
        .await;
    project.assert_status(200);
    app.get(
        "/v4/gateway/projects?relationship=Owned&showCompleted=false",
        &jane,
    )
    .await
    .assert_status(200);
    app.get("/v4/users?userName=jane&includeDeleted=false", &jane)
        .await
        .assert_status(200);
    app.post(
        "/api/pat/v1/tokens",
        &jane,
        json!({ "name": "tolerant", "expiresIn": 3600, "scopes": ["all"] }),
    )
    .await
    .assert_status(201);
}

#[tokio::test]
async fn tessera_paths_refuse_unknown_fields_and_parameters_naming_them() {
    let app = spawn_app().await;
    let refused = app
        .post(
            "/api/admin/v1/users",
            &app.admin_token,
            json!({ "userName": "x", "email": "x@example.com", "nickname": "y" }),
        )
        .await;
    refused.assert_status(400).assert_envelope();
    assert!(refused.error().contains("nickname"), "{}", refused.error());
    let refused = app
        .get("/api/admin/v1/users?sort=name", &app.admin_token)
        .await;
    refused.assert_status(400);
    assert!(refused.error().contains("sort"), "{}", refused.error());
}

/// Found by Schemathesis on PostgreSQL: a NUL character, which PostgreSQL cannot hold in text,
/// was a 500. Now, in a lookup, a query parameter, a body field or a header-borne name, it is
/// the caller's error on both backends.
#[tokio::test]
async fn a_nul_character_in_text_is_the_callers_error_not_a_500() {
    let app = spawn_app().await;
    let t = app.admin_token.clone();
    for path in [
        "/v4/gateway/projects/findProjectByOwnerAndName?ownerName=admin&projectName=%00%C3%B1",
        "/v4/gateway/projects/findProjectByOwnerAndName?ownerName=%00&projectName=x",
        "/api/admin/v1/users?search=a%00b",
        "/api/pat/v1/admin/tokens?search=a%00bc",
        "/api/admin/v1/audit?actor=%00",
    ] {
        let reply = app.get(path, &t).await;
        reply.assert_status(400).assert_envelope();
        assert!(reply.error().contains("NUL"), "{path}: {reply:?}");
    }
    let created = app
        .post(
            "/api/pat/v1/tokens",
            &t,
            json!({ "name": "nul", "description": "a\u{0}b", "expiresIn": 3600 }),
        )
        .await;
    created.assert_status(400).assert_envelope();
    assert!(created.error().contains("description"), "{created:?}");
}

/// Found by Schemathesis: a path refused before routing under the realm answered with the
/// FailureEnvelope where the realm's endpoints answer OAuth errors (RFC 6749 §5.2).
#[tokio::test]
async fn a_malformed_realm_path_is_an_oauth_invalid_request() {
    let app = spawn_app().await;
    for path in [
        "/auth/realms/a%5Cb/protocol/openid-connect/auth",
        "/auth/realms/DominoRealm/protocol/openid-connect/%2e%2e%2f%2e%2e/token",
        "/auth/realms/x/%00/certs",
        "/auth/realms/a%5Cb/.well-known/openid-configuration",
        "/auth/realms/a%5Cb/protocol/openid-connect/certs",
        "/auth/realms/a%5Cb/protocol/openid-connect/userinfo",
    ] {
        let reply = app.send(Method::GET, path, Auth::None, None).await;
        reply.assert_status(400);
        assert_eq!(reply.body["error"], "invalid_request", "{path}: {reply:?}");
        assert!(
            reply.body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{path}: {reply:?}"
        );
    }
    // The document says so for every realm operation.
    let doc = app
        .send(Method::GET, "/openapi.json", Auth::None, None)
        .await;
    let paths = doc.body["paths"].as_object().unwrap();
    let mut realm_operations = 0;
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/auth/realms/")) {
        for (method, operation) in item.as_object().unwrap() {
            let schema = &operation["responses"]["400"]["content"]["application/json"]["schema"];
            assert_eq!(
                schema["$ref"], "#/components/schemas/OAuthError",
                "{method} {path}: {schema}"
            );
            realm_operations += 1;
        }
    }
    assert!(realm_operations >= 6, "{realm_operations}");
    // Elsewhere the FailureEnvelope stays.
    app.send(Method::GET, "/api/a%5Cb", Auth::None, None)
        .await
        .assert_status(400)
        .assert_envelope();
}
