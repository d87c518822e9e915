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
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
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
    assert!(
        !page.contains(" style="),
        "inline style attributes would be blocked"
    );
    assert!(page.contains("/api/pat/v1/tokens/{patId}/rotate"));
    assert!(page.contains("FailureEnvelope"));
    assert!(!page.contains("<script"), "the reference needs no script");
    assert!(
        page.contains("<code>expiresIn</code>"),
        "code spans are rendered"
    );
    // The page API-key responses link to carries the same defences.
    let linked = app
        .client
        .get(format!("{}/docs/personal-access-tokens", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), 200);
    let csp = linked.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(linked.headers()["x-frame-options"], "DENY");
    assert_eq!(linked.headers()["x-content-type-options"], "nosniff");
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
        .admin_post(
            "/api/serviceAccounts/v1/serviceAccounts",
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
        for (path, token) in [
            ("/api/pat/v1/tokens", &jane),
            (sa_tokens.as_str(), &app.admin_token),
        ] {
            let number: serde_json::Value = serde_json::from_str(raw).unwrap();
            let refused = app
                .post(
                    path,
                    token,
                    json!({ "name": "absurd", "expiresIn": number }),
                )
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
        .admin_post(
            "/api/serviceAccounts/v1/serviceAccounts",
            json!({ "username": "robot", "groups": [] }),
        )
        .await;
    sa.assert_status(201);
    let id = sa.body["id"].as_str().unwrap();
    let path = format!("/api/serviceAccounts/v1/serviceAccounts/{id}/tokens");
    app.admin_post(&path, json!({ "name": "t1", "expiresIn": 3600.0 }))
        .await
        .assert_status(201);
    let refused = app
        .admin_post(&path, json!({ "name": "t2", "expiresIn": 0.25 }))
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
        .admin_post(
            "/api/admin/v1/users",
            json!({ "userName": "x", "email": "x@example.com", "nickname": "y" }),
        )
        .await;
    refused.assert_status(400).assert_envelope();
    assert!(refused.error().contains("nickname"), "{}", refused.error());
    let refused = app.admin_get("/api/admin/v1/users?sort=name").await;
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

/// The document's path with every `{param}` filled: ids that exist nowhere, since what is under
/// test is refused before any lookup.
fn filled(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str("00000000-0000-4000-8000-000000000000");
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Every operation the document marks `refused` refuses an unknown query parameter and an unknown
/// body field (or any body, where it takes none) with a 400 naming it (SPEC section 3); nothing
/// is done: revoking all PATs with a stray body must not revoke the caller's.
#[tokio::test]
async fn every_strict_operation_of_the_document_refuses_what_it_does_not_know() {
    let app = spawn_app().await;
    let key = app.admin_post_empty("/api/apiKey/v1/regenerate").await;
    key.assert_status(201);
    let api_key = key.body["apiKey"].as_str().unwrap().to_string();
    let doc = app
        .send(Method::GET, "/openapi.json", Auth::None, None)
        .await;
    let mut strict = 0;
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            if operation["x-unknown-parameters"] != "refused" {
                assert!(
                    operation["x-unknown-parameters"]
                        .as_str()
                        .is_some_and(|v| v.starts_with("ignored")),
                    "{method} {path}: {}",
                    operation["x-unknown-parameters"]
                );
                continue;
            }
            strict += 1;
            let url = format!("{}?unknownParam=1", filled(path));
            let refused = app
                .send(method.clone(), &url, Auth::Bearer(&app.admin_token), None)
                .await;
            assert_eq!(refused.status, 400, "{method} {url}: {}", refused.body);
            refused.assert_envelope();
            assert!(
                refused.error().contains("`unknownParam`"),
                "{method} {path}: {}",
                refused.error()
            );
            // With a body or without one: a body the operation does not take is refused too.
            {
                let refused = app
                    .send(
                        method.clone(),
                        &filled(path),
                        Auth::Bearer(&app.admin_token),
                        Some(json!({ "unknownField": 1 })),
                    )
                    .await;
                assert_eq!(refused.status, 400, "{method} {path}: {}", refused.body);
                refused.assert_envelope();
                assert!(
                    refused.error().contains("unknownField"),
                    "{method} {path}: {}",
                    refused.error()
                );
            }
        }
    }
    assert!(strict > 30, "only {strict} strict operations");
    // An empty object is what clients send for "no data": taken as no body.
    app.send(
        Method::POST,
        "/api/admin/v1/keys/rotate",
        Auth::Bearer(&app.admin_token),
        None,
    )
    .await;
    let with_empty = app
        .admin_post("/api/pat/v1/tokens/invalidate", json!({}))
        .await;
    with_empty.assert_status(200);
    // The refused regeneration did nothing: the key from before still works.
    app.assert_whoami(Auth::ApiKey(&api_key), 200).await;
}

/// Found by the review of #14: a NUL character in a body string was a 500 on SQLite (FTS5 could
/// not search it) and stored as is in an e-mail there, while PostgreSQL refused it naming `text`.
/// It is refused at the edge, naming the field, on both backends, on Domino paths too.
#[tokio::test]
async fn a_nul_character_in_a_body_string_is_a_400_naming_the_field() {
    let app = spawn_app().await;
    let user = app.create_user("target", &[]).await;
    let cases = [
        (
            "POST",
            "/api/pat/v1/admin/tokens/invalidate".to_string(),
            json!({ "search": "a\u{0}b" }),
            "search",
        ),
        (
            "POST",
            "/api/pat/v1/admin/tokens/delete".to_string(),
            json!({ "userName": "a\u{0}" }),
            "userName",
        ),
        (
            "POST",
            "/api/admin/v1/users".to_string(),
            json!({ "userName": "nulmail", "email": "n\u{0}m@example.com" }),
            "email",
        ),
        (
            "PATCH",
            format!("/api/admin/v1/users/{user}"),
            json!({ "email": "a\u{0}b@x.com" }),
            "email",
        ),
        (
            "POST",
            "/api/pat/v1/tokens".to_string(),
            json!({ "name": "ok", "description": "x\u{0}" }),
            "description",
        ),
        (
            "POST",
            "/v4/projects".to_string(),
            json!({ "name": "p", "collaborators": [{ "collaboratorId": user, "projectRole": "Contributor\u{0}" }] }),
            "collaborators[0].projectRole",
        ),
    ];
    for (method, path, body, field) in cases {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let refused = app
            .send(
                method.clone(),
                &path,
                Auth::Bearer(&app.admin_token),
                Some(body),
            )
            .await;
        assert_eq!(refused.status, 400, "{method} {path}: {}", refused.body);
        refused.assert_envelope();
        assert!(
            refused.error().starts_with(&format!("{field}: ")) && refused.error().contains("NUL"),
            "{method} {path}: {}",
            refused.error()
        );
    }
    // A field a Domino path does not know is ignored, NUL or not.
    app.admin_post(
        "/api/pat/v1/tokens",
        json!({ "name": "tolerated", "tags": "x\u{0}" }),
    )
    .await
    .assert_status(201);
    // Nothing was stored: the e-mail of the patched user is unchanged.
    let read = app.admin_get(&format!("/api/admin/v1/users/{user}")).await;
    assert_eq!(read.body["email"], "target@example.com");
}

/// Found by the review of #14: serde takes a positional array for a struct, so `["org"]` created
/// an organization. A body is a JSON object, and messages use the document's words, not Rust's.
#[tokio::test]
async fn a_body_is_a_json_object_not_an_array_or_a_scalar() {
    let app = spawn_app().await;
    for body in [
        json!(["seqorg"]),
        json!([]),
        json!(null),
        json!("org"),
        json!(7),
    ] {
        let refused = app
            .admin_post("/api/organizations/v1/organizations", body.clone())
            .await;
        refused.assert_status(400).assert_envelope();
        assert!(
            refused.error().contains("JSON object"),
            "{body}: {}",
            refused.error()
        );
        let refused = app.admin_post("/api/pat/v1/tokens", body.clone()).await;
        refused.assert_status(400).assert_envelope();
    }
    let nested = app
        .admin_post(
            "/v4/projects",
            json!({ "name": "p", "collaborators": ["x"] }),
        )
        .await;
    nested.assert_status(400);
    assert!(!nested.error().contains("struct"), "{}", nested.error());
    let listed = app.admin_get("/api/organizations/v1/organizations").await;
    assert!(!listed.body.to_string().contains("seqorg"));
}

/// Found by the review of #14: escapes that are not UTF-8 were decoded into U+FFFD and a bad
/// number's message did not name its parameter. Both are 400s that say what is wrong, on the
/// API, on Domino paths and (as an OAuth error) on the realm.
#[tokio::test]
async fn a_query_that_is_not_utf8_or_not_a_number_is_a_400_naming_it() {
    let app = spawn_app().await;
    for path in [
        "/api/admin/v1/users?search=%ff%fe",
        "/api/pat/v1/admin/tokens?status=%ff",
        "/v4/users?search=%C0%AE",
    ] {
        let refused = app.admin_get(path).await;
        refused.assert_status(400).assert_envelope();
        assert!(
            refused.error().contains("UTF-8"),
            "{path}: {}",
            refused.error()
        );
    }
    let realm = app
        .send(
            Method::GET,
            "/auth/realms/DominoRealm/.well-known/openid-configuration?x=%ff",
            Auth::None,
            None,
        )
        .await;
    realm.assert_status(400);
    assert_eq!(realm.body["error"], "invalid_request");
    // Text in UTF-8, escaped or not, is fine.
    app.admin_get("/api/admin/v1/users?search=%C3%A9")
        .await
        .assert_status(200);
    for (path, field) in [
        ("/api/admin/v1/users?offset=-1", "offset"),
        ("/api/admin/v1/users?limit=x", "limit"),
        ("/v4/users?offset=1.5", "offset"),
    ] {
        let refused = app.admin_get(path).await;
        refused.assert_status(400).assert_envelope();
        assert!(
            refused.error().contains(&format!("{field}: ")),
            "{path}: {}",
            refused.error()
        );
    }
}
