//! Keycloak-compatible realm endpoints: the realm document, JWKS, discovery, RFC 8693 token
//! exchange and userinfo. Public except userinfo, which needs one of the realm's access tokens.
//! Errors here are OAuth error bodies (`{"error", "error_description"}`), as clients expect.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};
use tessera_core::authn::{AuthError, Presented};
use tessera_core::model::CredentialKind;
use tessera_core::secret::{SecretKind, parse_presented};

use crate::authn::Identity;
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, BEARER_INVALID};
use crate::state::AppState;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/realms/{realm}", get(realm_document))
        .route(
            "/auth/realms/{realm}/protocol/openid-connect/certs",
            get(certs),
        )
        .route(
            "/auth/realms/{realm}/.well-known/openid-configuration",
            get(discovery),
        )
        .route(
            "/auth/realms/{realm}/protocol/openid-connect/token",
            post(token),
        )
        .route(
            "/auth/realms/{realm}/protocol/openid-connect/userinfo",
            get(userinfo).post(userinfo),
        )
        .route(
            "/auth/realms/{realm}/protocol/openid-connect/auth",
            get(authorize),
        )
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn known(state: &AppState, realm: &str) -> Result<(), ApiError> {
    if realm == state.realm.settings().name {
        Ok(())
    } else {
        Err(ApiError::NotFound("realm not found".into()))
    }
}

async fn realm_document(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<Json<Value>, ApiError> {
    known(&state, &realm)?;
    Ok(Json(state.realm.realm_document()))
}

/// The JWKS. Cached for a minute: after a rotation, verifiers that meet an unknown `kid`
/// refetch, and the retired key stays listed until its tokens have expired.
async fn certs(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<Response, ApiError> {
    known(&state, &realm)?;
    let mut response = Json(state.realm.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    Ok(response)
}

async fn discovery(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<Json<Value>, ApiError> {
    known(&state, &realm)?;
    Ok(Json(state.realm.discovery()))
}

/// Only token exchange is offered; browser flows are not part of Tessera.
async fn authorize(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<Response, ApiError> {
    known(&state, &realm)?;
    Ok(oauth_error(
        StatusCode::BAD_REQUEST,
        "unsupported_response_type",
        "this realm issues tokens by token exchange only",
    ))
}

/// RFC 8693: a PAT, service-account token or API key as `subject_token` → an access JWT.
async fn token(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ClientAddr(client): ClientAddr,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ApiError> {
    known(&state, &realm)?;
    let Ok(Form(form)) = form else {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    };
    match form.get("grant_type").map(String::as_str) {
        Some(TOKEN_EXCHANGE) => {}
        Some(_) => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only urn:ietf:params:oauth:grant-type:token-exchange is supported",
            ));
        }
        None => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            ));
        }
    }
    let Some(subject) = form.get("subject_token").filter(|s| !s.is_empty()) else {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "subject_token is required",
        ));
    };
    if let Some(kind) = form
        .get("subject_token_type")
        .filter(|t| t.as_str() != ACCESS_TOKEN_TYPE)
    {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("unsupported subject_token_type {kind:?}; use {ACCESS_TOKEN_TYPE}"),
        ));
    }
    if let Some(kind) = form
        .get("requested_token_type")
        .filter(|t| t.as_str() != ACCESS_TOKEN_TYPE)
    {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("unsupported requested_token_type {kind:?}; use {ACCESS_TOKEN_TYPE}"),
        ));
    }
    let presented = match parse_presented(subject).map(|w| w.kind) {
        Some(SecretKind::ApiKey) => Presented::ApiKey(subject),
        _ => Presented::Bearer(subject),
    };
    let caller = match state
        .authenticator
        .authenticate(presented, Some(client))
        .await
    {
        Ok(caller) if caller.credential().kind != CredentialKind::AccessToken => caller,
        Err(AuthError::Unavailable(e)) => return Err(ApiError::Unavailable(e.to_string())),
        _ => {
            crate::authn::record_refusal(&state, client)?;
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "subject_token is not a valid PAT, service-account token or API key",
            ));
        }
    };
    let issued = state
        .realm
        .issue(caller.principal(), caller.credential().id)
        .await?;
    state.metrics.exchanged();
    let mut response = Json(json!({
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "issued_token_type": ACCESS_TOKEN_TYPE,
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Needs one of the realm's access tokens.
async fn userinfo(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    Identity(caller): Identity,
) -> Result<Json<Value>, ApiError> {
    known(&state, &realm)?;
    if caller.credential().kind != CredentialKind::AccessToken {
        return Err(ApiError::Unauthenticated {
            challenge: BEARER_INVALID,
        });
    }
    let user = caller.principal();
    Ok(Json(json!({
        "sub": user.id.to_string(),
        "name": user.full_name(),
        "preferred_username": user.user_name.as_str(),
        "email": user.email.as_ref().map(|e| e.as_str()),
        "given_name": user.first_name,
        "family_name": user.last_name,
    })))
}
