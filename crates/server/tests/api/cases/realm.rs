//! The realm: tokens verified offline by an independent library (`jsonwebtoken`) from the JWKS
//! and the realm public key, strict validation of forged tokens, not-before, rotation, mappers.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm as JwtAlg, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::realm::Algorithm;
use tessera_core::realm::claims::ClaimMapper;
use tessera_core::realm::keys::{KeyCipher, SigningKey};

use crate::helpers::{Auth, SERVER_SECRET, TestApp, operator_token, spawn_app, spawn_app_with};

const REALM: &str = "/auth/realms/DominoRealm";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

async fn exchange(app: &TestApp, subject: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!(
            "{}{REALM}/protocol/openid-connect/token",
            app.address
        ))
        .form(&[("grant_type", EXCHANGE), ("subject_token", subject)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Exchanges `subject` (RFC 8693) and returns the access token, asserting a 200.
pub(crate) async fn access_token(app: &TestApp, subject: &str) -> String {
    let (status, body) = exchange(app, subject).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

fn validation(app: &TestApp, alg: JwtAlg) -> Validation {
    let mut v = Validation::new(alg);
    v.set_issuer(&[format!("{}{REALM}", app.address)]);
    v.set_audience(&["domino-platform"]);
    v
}

/// Verifies with a key built only from the JWKS document fetched over HTTP.
pub(crate) async fn verify_with_jwks(app: &TestApp, token: &str) -> Value {
    let certs = app
        .send(
            Method::GET,
            &format!("{REALM}/protocol/openid-connect/certs"),
            Auth::None,
            None,
        )
        .await;
    let jwks: JwkSet = serde_json::from_value(certs.body).expect("a JWKS document");
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.clone().unwrap();
    let jwk = jwks
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} not in the JWKS"));
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation(app, header.alg))
        .unwrap()
        .claims;
    // RFC 9068 §2.2: `client_id` in every `at+jwt`; SPEC section 2: `sid`, the source.
    assert_eq!(claims["client_id"], claims["azp"], "{claims}");
    assert!(
        claims["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "no sid in {claims}"
    );
    claims
}

fn pem(spki_b64: &str) -> String {
    let body: Vec<String> = spki_b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        body.join("\n")
    )
}

async fn app_with(alg: Algorithm) -> TestApp {
    spawn_app_with(|c| c.realm.algorithm = alg).await
}

#[tokio::test]
async fn exchanged_tokens_verify_offline_with_every_algorithm() {
    for (alg, jwt_alg) in [
        (Algorithm::RS256, JwtAlg::RS256),
        (Algorithm::ES256, JwtAlg::ES256),
        (Algorithm::EdDSA, JwtAlg::EdDSA),
    ] {
        let app = app_with(alg).await;
        let (user_id, pat) = app
            .user_with_token("jane", &["Practitioner", "Librarian"])
            .await;
        let (status, body) = exchange(&app, &pat).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(
            body["issued_token_type"],
            "urn:ietf:params:oauth:token-type:access_token"
        );
        assert_eq!(body["expires_in"], 300);
        let token = body["access_token"].as_str().unwrap();

        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.alg, jwt_alg);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let claims = verify_with_jwks(&app, token).await;
        assert_eq!(claims["sub"], user_id.as_str());
        assert_eq!(claims["preferred_username"], "jane");
        assert_eq!(claims["azp"], "domino-play");
        assert_eq!(claims["aud"], json!(["domino-platform"]));
        assert_eq!(
            claims["realm_access"]["roles"],
            json!(["Practitioner", "Librarian"])
        );
        assert_eq!(
            claims["user_groups"],
            json!(["/roles/Practitioner", "/roles/Librarian"])
        );
        for claim in [
            "exp",
            "iat",
            "nbf",
            "jti",
            "email",
            "name",
            "client_id",
            "sid",
        ] {
            assert!(claims.get(claim).is_some(), "{claim} missing: {claims}");
        }
        // Jane has no first or last name: those claims are left out, never "" (OIDC §5.3.2).
        assert!(claims.get("given_name").is_none() && claims.get("family_name").is_none());
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            300
        );

        // The realm's public key, base64 DER SPKI without armour, verifies it too.
        let realm = app.send(Method::GET, REALM, Auth::None, None).await;
        realm.assert_status(200);
        let spki = realm.body["public_key"].as_str().unwrap();
        assert!(STANDARD.decode(spki).is_ok() && !spki.contains("BEGIN"));
        let key = match alg {
            Algorithm::RS256 => DecodingKey::from_rsa_pem(pem(spki).as_bytes()),
            Algorithm::ES256 => DecodingKey::from_ec_pem(pem(spki).as_bytes()),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem(spki).as_bytes()),
        }
        .unwrap();
        jsonwebtoken::decode::<Value>(token, &key, &validation(&app, jwt_alg)).unwrap();

        // Tessera accepts its own token wherever a PAT is accepted.
        let me = app.get("/v4/users/self", token).await;
        me.assert_status(200);
        assert_eq!(me.body["userName"], "jane");
    }
}

#[tokio::test]
async fn the_jwks_realm_and_discovery_documents_have_the_keycloak_shape() {
    let app = spawn_app().await;
    let certs = app
        .send(
            Method::GET,
            &format!("{REALM}/protocol/openid-connect/certs"),
            Auth::None,
            None,
        )
        .await;
    certs.assert_status(200);
    assert!(
        certs
            .header("cache-control")
            .is_some_and(|c| c.contains("max-age="))
    );
    let key = &certs.body["keys"][0];
    for field in ["kid", "kty", "alg", "use", "n", "e"] {
        assert!(key.get(field).is_some(), "{field} missing in {key}");
    }
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");

    let realm = app.send(Method::GET, REALM, Auth::None, None).await;
    assert_eq!(realm.body["realm"], "DominoRealm");
    for field in [
        "public_key",
        "token-service",
        "account-service",
        "tokens-not-before",
    ] {
        assert!(
            realm.body.get(field).is_some(),
            "{field} missing in {:?}",
            realm.body
        );
    }

    let discovery = app
        .send(
            Method::GET,
            &format!("{REALM}/.well-known/openid-configuration"),
            Auth::None,
            None,
        )
        .await;
    discovery.assert_status(200);
    assert_eq!(discovery.body["issuer"], format!("{}{REALM}", app.address));
    assert_eq!(
        discovery.body["jwks_uri"],
        format!("{}{REALM}/protocol/openid-connect/certs", app.address)
    );
    assert!(
        discovery.body["grant_types_supported"]
            .to_string()
            .contains("token-exchange")
    );

    app.send(Method::GET, "/auth/realms/OtherRealm", Auth::None, None)
        .await
        .assert_status(404);
}

#[tokio::test]
async fn service_account_tokens_and_api_keys_can_be_exchanged_too() {
    let app = spawn_app().await;
    let sa_token = app.service_account_token("pipeline", "ci").await;
    let claims = verify_with_jwks(&app, &access_token(&app, &sa_token).await).await;
    assert_eq!(claims["preferred_username"], "pipeline");
    assert_eq!(
        claims["realm_access"]["roles"],
        json!(["SysAdmin", "Practitioner"]),
        "roles copied from the creating admin"
    );

    let key = app.regenerate_api_key(&app.admin_token).await;
    let claims = verify_with_jwks(&app, &access_token(&app, &key).await).await;
    assert_eq!(claims["preferred_username"], "admin");
}

#[tokio::test]
async fn bad_exchange_requests_get_oauth_errors() {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let url = format!("{}{REALM}/protocol/openid-connect/token", app.address);
    let post = |form: Vec<(&'static str, String)>| {
        let client = app.client.clone();
        let url = url.clone();
        async move {
            let r = client.post(url).form(&form).send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    assert_eq!(
        post(vec![("grant_type", "password".into())]).await.1["error"],
        "unsupported_grant_type"
    );
    assert_eq!(
        post(vec![("grant_type", EXCHANGE.into())]).await.1["error"],
        "invalid_request"
    );
    let (status, body) = post(vec![
        ("grant_type", EXCHANGE.into()),
        ("subject_token", "tpat_nope".into()),
    ])
    .await;
    // RFC 8693 §2.2.2: an unknown subject_token is invalid_request, as Keycloak answers.
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let wrong_type = post(vec![
        ("grant_type", EXCHANGE.into()),
        ("subject_token", pat.clone()),
        ("subject_token_type", "urn:x".into()),
    ])
    .await;
    assert_eq!(wrong_type.1["error"], "invalid_request");
    let json_body = app
        .client
        .post(&url)
        .json(&json!({ "grant_type": EXCHANGE, "subject_token": pat }))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status().as_u16(), 400);

    // A JWT is not a subject token; a revoked PAT is not either.
    let jwt = access_token(&app, &pat).await;
    assert_eq!(exchange(&app, &jwt).await.1["error"], "invalid_request");
    app.post_empty("/api/pat/v1/tokens/invalidate", &pat)
        .await
        .assert_status(200);
    assert_eq!(exchange(&app, &pat).await.1["error"], "invalid_request");
}

#[tokio::test]
async fn an_exchange_is_cached_per_credential_and_userinfo_needs_a_jwt() {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let first = access_token(&app, &pat).await;
    let second = access_token(&app, &pat).await;
    assert_eq!(first, second, "steady exchanges should not sign again");

    let info = app
        .send(
            Method::GET,
            &format!("{REALM}/protocol/openid-connect/userinfo"),
            Auth::Bearer(&first),
            None,
        )
        .await;
    info.assert_status(200);
    assert_eq!(info.body["preferred_username"], "jane");
    let refused = app
        .send(
            Method::GET,
            &format!("{REALM}/protocol/openid-connect/userinfo"),
            Auth::Bearer(&pat),
            None,
        )
        .await;
    refused.assert_status(401);
}

/// Signs arbitrary claims with the server's own active key, unsealed from the store with the
/// server secret the way an attacker who stole both would.
async fn forge(app: &TestApp, header: Value, claims: Value) -> String {
    let cipher = KeyCipher::new(SERVER_SECRET.as_bytes()).unwrap();
    let stored = app.state.store.signing_keys().await.unwrap();
    let active = stored.iter().find(|k| k.retired_at.is_none()).unwrap();
    let kid = active.kid.clone();
    let pkcs8 = cipher.open(&kid, &active.sealed_private).unwrap();
    let key = SigningKey::from_pkcs8(
        kid.clone(),
        Algorithm::parse(&active.alg).unwrap(),
        &pkcs8,
        chrono::Utc::now(),
        None,
    )
    .unwrap();
    let mut header = header;
    if header.get("kid").is_none() {
        header["kid"] = json!(kid);
    }
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap())
    )
}

#[tokio::test]
async fn forged_and_out_of_bounds_tokens_are_refused() {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let good = access_token(&app, &pat).await;
    app.assert_whoami(Auth::Bearer(&good), 200).await;
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(good.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(good.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let with = |patch: Value| {
        let mut c = claims.clone();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };

    let mut forged: Vec<(&str, String)> = Vec::new();
    // alg none, with and without a signature.
    let none_header = URL_SAFE_NO_PAD
        .encode(json!({ "alg": "none", "typ": "at+jwt", "kid": header["kid"] }).to_string());
    let body = good.split('.').nth(1).unwrap();
    forged.push(("alg none", format!("{none_header}.{body}.")));
    // Tampered payload under the original signature.
    let tampered =
        URL_SAFE_NO_PAD.encode(with(json!({ "preferred_username": "admin" })).to_string());
    let sig = good.split('.').nth(2).unwrap();
    forged.push((
        "tampered payload",
        format!("{}.{tampered}.{sig}", good.split('.').next().unwrap()),
    ));
    // HS256 keyed with the public key (the classic key-confusion attack).
    let realm = app.send(Method::GET, REALM, Auth::None, None).await;
    let public = pem(realm.body["public_key"].as_str().unwrap());
    let mut hs = jsonwebtoken::Header::new(JwtAlg::HS256);
    hs.kid = header["kid"].as_str().map(str::to_string);
    hs.typ = Some("at+jwt".into());
    forged.push((
        "HS256 with the public key",
        jsonwebtoken::encode(
            &hs,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(public.as_bytes()),
        )
        .unwrap(),
    ));
    // A foreign key with an unknown kid.
    let (foreign, _) =
        tessera_core::realm::keys::generate(Algorithm::RS256, chrono::Utc::now()).unwrap();
    let input = format!(
        "{}.{body}",
        URL_SAFE_NO_PAD
            .encode(json!({ "alg": "RS256", "typ": "at+jwt", "kid": foreign.kid }).to_string())
    );
    forged.push((
        "unknown kid",
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(foreign.sign(input.as_bytes()).unwrap())
        ),
    ));
    // Signed by the real key but out of bounds.
    let typed = json!({ "alg": "RS256", "typ": "at+jwt" });
    forged.push((
        "expired",
        forge(
            &app,
            typed.clone(),
            with(json!({ "iat": now - 900, "nbf": now - 900, "exp": now - 600 })),
        )
        .await,
    ));
    forged.push((
        "not yet valid",
        forge(&app, typed.clone(), with(json!({ "nbf": now + 600 }))).await,
    ));
    forged.push((
        "wrong issuer",
        forge(
            &app,
            typed.clone(),
            with(json!({ "iss": "https://evil.example/auth/realms/DominoRealm" })),
        )
        .await,
    ));
    forged.push((
        "wrong audience",
        forge(
            &app,
            typed.clone(),
            with(json!({ "aud": ["someone-else"] })),
        )
        .await,
    ));
    forged.push((
        "no exp",
        forge(&app, typed.clone(), {
            let mut c = claims.clone();
            c.as_object_mut().unwrap().remove("exp");
            c
        })
        .await,
    ));
    forged.push((
        "wrong typ",
        forge(
            &app,
            json!({ "alg": "RS256", "typ": "JWT" }),
            claims.clone(),
        )
        .await,
    ));
    forged.push((
        "alg differs from the key's",
        forge(
            &app,
            json!({ "alg": "RS384", "typ": "at+jwt" }),
            claims.clone(),
        )
        .await,
    ));
    forged.push((
        "a critical header extension it does not understand (RFC 7515 §4.1.11)",
        forge(
            &app,
            json!({ "alg": "RS256", "typ": "at+jwt", "crit": ["x-unknown"], "x-unknown": 1 }),
            claims.clone(),
        )
        .await,
    ));
    forged.push((
        "no sid",
        forge(&app, typed.clone(), {
            let mut c = claims.clone();
            c.as_object_mut().unwrap().remove("sid");
            c
        })
        .await,
    ));
    forged.push((
        "a sid that is no credential",
        forge(
            &app,
            typed.clone(),
            with(json!({ "sid": uuid::Uuid::new_v4().to_string() })),
        )
        .await,
    ));
    forged.push((
        "unknown subject",
        forge(
            &app,
            typed.clone(),
            with(json!({ "sub": uuid::Uuid::new_v4().to_string() })),
        )
        .await,
    ));

    for (what, token) in &forged {
        let reply = app.get("/v4/users/self", token).await;
        assert_eq!(reply.status.as_u16(), 401, "{what} was accepted: {reply:?}");
    }
    // The control: the same forging path with untouched claims is accepted, so the refusals
    // above are about what each one changed.
    let control = forge(&app, typed, claims.clone()).await;
    app.assert_whoami(Auth::Bearer(&control), 200).await;
}

#[tokio::test]
async fn a_role_change_or_deactivation_invalidates_earlier_tokens_of_that_user_only() {
    let app = spawn_app().await;
    let (jane_id, _) = app.user_with_token("jane", &["Practitioner"]).await;
    let (john_id, _) = app.user_with_token("john", &["Practitioner"]).await;
    let jane_pat = operator_token(&app.state, "jane", "first").await;
    let john_pat = operator_token(&app.state, "john", "first").await;
    let jane_jwt = access_token(&app, &jane_pat).await;
    let john_jwt = access_token(&app, &john_pat).await;
    app.assert_whoami(Auth::Bearer(&jane_jwt), 200).await;

    app.admin_put(
        &format!("/api/admin/v1/users/{jane_id}/roles"),
        json!({ "roles": ["Librarian"] }),
    )
    .await
    .assert_status(200);
    app.assert_whoami(Auth::Bearer(&jane_jwt), 401).await;
    app.assert_whoami(Auth::Bearer(&john_jwt), 200).await;

    // A token issued right after the change works at once, with the new roles.
    let fresh_pat = operator_token(&app.state, "jane", "second").await;
    let fresh = access_token(&app, &fresh_pat).await;
    app.assert_whoami(Auth::Bearer(&fresh), 200).await;
    assert_eq!(
        verify_with_jwks(&app, &fresh).await["realm_access"]["roles"],
        json!(["Librarian"])
    );

    app.admin_post_empty(&format!("/api/admin/v1/users/{john_id}/deactivate"))
        .await
        .assert_status(200);
    app.assert_whoami(Auth::Bearer(&john_jwt), 401).await;
}

#[tokio::test]
async fn after_a_rotation_old_tokens_still_verify_and_new_ones_carry_the_new_kid() {
    let app = spawn_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let old = access_token(&app, &pat).await;
    let old_kid = jsonwebtoken::decode_header(&old).unwrap().kid.unwrap();

    let rotated = app.admin_post_empty("/api/admin/v1/keys/rotate").await;
    rotated.assert_status(200);
    let new_kid = rotated.body["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);

    let jwks = app
        .send(
            Method::GET,
            &format!("{REALM}/protocol/openid-connect/certs"),
            Auth::None,
            None,
        )
        .await;
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{kids:?}"
    );

    let new = access_token(&app, &pat).await;
    assert_eq!(
        jsonwebtoken::decode_header(&new).unwrap().kid.as_deref(),
        Some(new_kid.as_str())
    );
    verify_with_jwks(&app, &old).await;
    verify_with_jwks(&app, &new).await;
    app.assert_whoami(Auth::Bearer(&old), 200).await;
    app.assert_whoami(Auth::Bearer(&new), 200).await;

    let (_, jane) = app.user_with_token("john", &[]).await;
    app.post_empty("/api/admin/v1/keys/rotate", &jane)
        .await
        .assert_status(403);
    let ec = app
        .admin_post("/api/admin/v1/keys/rotate", json!({ "algorithm": "ES256" }))
        .await;
    assert_eq!(ec.body["alg"], "ES256");
    app.admin_post("/api/admin/v1/keys/rotate", json!({ "algorithm": "HS256" }))
        .await
        .assert_status(400);
}

#[tokio::test]
async fn claim_mappers_add_nested_claims_from_organizations_attributes_and_constants() {
    let mappers = vec![
        ClaimMapper::parse("org.names", "organizations").unwrap(),
        ClaimMapper::parse("tenant", "constant:{\"id\": 7}").unwrap(),
        ClaimMapper::parse("contact.mail", "attribute:email").unwrap(),
    ];
    let app = spawn_app_with(move |c| c.realm.mappers = mappers).await;
    let (user_id, pat) = app.user_with_token("jane", &[]).await;
    let org = app
        .admin_post(
            "/api/organizations/v1/organizations",
            json!({ "name": "Data Science" }),
        )
        .await;
    org.assert_status(201);
    let org_id = org.body["id"].as_str().unwrap().to_string();
    let before = verify_with_jwks(&app, &access_token(&app, &pat).await).await;
    assert_eq!(before["org"]["names"], json!([]));

    app.admin_post(
        &format!("/api/organizations/v1/organizations/{org_id}/members"),
        json!({ "userName": "jane" }),
    )
    .await
    .assert_status(200);
    let claims = verify_with_jwks(&app, &access_token(&app, &pat).await).await;
    assert_eq!(
        claims["org"]["names"],
        json!(["Data Science"]),
        "membership change must not serve a stale cached token"
    );
    assert_eq!(claims["tenant"], json!({ "id": 7 }));
    assert_eq!(claims["contact"]["mail"], "jane@example.com");

    app.admin_delete(&format!(
        "/api/organizations/v1/organizations/{org_id}/members/{user_id}"
    ))
    .await
    .assert_status(200);
    let after = verify_with_jwks(&app, &access_token(&app, &pat).await).await;
    assert_eq!(after["org"]["names"], json!([]));
}

#[test]
fn a_mapper_that_cannot_be_applied_is_a_start_up_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tessera.toml");
    for (toml, named) in [
        (
            "[[realm.claim_mappers]]\nclaim = \"org.names\"\nsource = \"ldap\"\n",
            "org.names",
        ),
        (
            "[[realm.claim_mappers]]\nclaim = \"x\"\nsource = \"attribute:shoeSize\"\n",
            "shoeSize",
        ),
        (
            "[[realm.claim_mappers]]\nclaim = \"sub\"\nsource = \"organizations\"\n",
            "sub",
        ),
        (
            "[[realm.claim_mappers]]\nclaim = \"a\"\nsource = \"organizations\"\n[[realm.claim_mappers]]\nclaim = \"a.b\"\nsource = \"constant:1\"\n",
            "a.b",
        ),
    ] {
        std::fs::write(&file, toml).unwrap();
        let err = tessera_server::Config::load(Some(&file), tessera_server::Overrides::default())
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains(named) && e.contains("claim mapper")),
            "{toml}: {err:?}"
        );
    }
}
