//! Keycloak-compatible realm endpoints: the realm document, JWKS, discovery (all three open to
//! cross-origin reads, so that verifiers running in a browser can fetch them), RFC 8693 token
//! exchange and userinfo. Errors of the token and userinfo endpoints are OAuth error bodies
//! (`{"error", "error_description"}`), as clients expect.

pub(super) mod token;
pub(super) mod userinfo;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_http::cors::{Any, CorsLayer};

use super::openapi::schemas::{Discovery, Jwks, OAuthError, RealmDocument};
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    // Public documents: `Access-Control-Allow-Origin: *` and a preflight allowing GET.
    let documents = Router::new()
        .route("/auth/realms/{realm}", get(realm_document))
        .route(
            "/auth/realms/{realm}/protocol/openid-connect/certs",
            get(certs),
        )
        .route(
            "/auth/realms/{realm}/.well-known/openid-configuration",
            get(discovery),
        )
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET])
                .allow_headers(Any)
                .max_age(std::time::Duration::from_secs(3600)),
        );
    Router::new()
        .merge(documents)
        .route(
            "/auth/realms/{realm}/protocol/openid-connect/token",
            post(token::token),
        )
        .route(
            "/auth/realms/{realm}/protocol/openid-connect/userinfo",
            get(userinfo::userinfo_get).post(userinfo::userinfo_post),
        )
        .route(
            "/auth/realms/{realm}/protocol/openid-connect/auth",
            get(authorize),
        )
}

/// An OAuth error response (RFC 6749 §5.2), never cached.
pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
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

/// Only this realm's name is served; any other is 404.
pub(super) fn known(state: &AppState, realm: &str) -> Result<(), ApiError> {
    if realm == state.realm.settings().name {
        Ok(())
    } else {
        Err(ApiError::NotFound("realm not found".into()))
    }
}

/// Public (Keycloak): the realm and its active public key.
#[utoipa::path(get, path = "/auth/realms/{realm}", tag = "realm", operation_id = "realm", security(()),
    params(("realm" = String, Path, description = "The realm's name, `DominoRealm` by default")),
    responses((status = 200, description = "The realm", body = RealmDocument)))]
async fn realm_document(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<Json<Value>, ApiError> {
    known(&state, &realm)?;
    Ok(Json(state.realm.realm_document()))
}

/// The JWKS. Cached for a minute: after a rotation, verifiers that meet an unknown `kid`
/// refetch, and the retired key stays listed until its tokens have expired.
#[utoipa::path(get, path = "/auth/realms/{realm}/protocol/openid-connect/certs", tag = "realm", operation_id = "jwks", security(()),
    params(("realm" = String, Path, description = "The realm's name, `DominoRealm` by default")),
    responses((status = 200, description = "The JWKS", body = Jwks)))]
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

/// Public: OpenID Connect discovery.
#[utoipa::path(get, path = "/auth/realms/{realm}/.well-known/openid-configuration", tag = "realm", operation_id = "discovery", security(()),
    params(("realm" = String, Path, description = "The realm's name, `DominoRealm` by default")),
    responses((status = 200, description = "The provider's metadata", body = Discovery)))]
async fn discovery(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<Json<Value>, ApiError> {
    known(&state, &realm)?;
    Ok(Json(state.realm.discovery()))
}

/// Only token exchange is offered; browser flows are not part of the realm.
#[utoipa::path(get, path = "/auth/realms/{realm}/protocol/openid-connect/auth", tag = "realm", operation_id = "authorize", security(()),
    params(("realm" = String, Path, description = "The realm's name, `DominoRealm` by default")),
    responses((status = 400, description = "`unsupported_response_type`: no browser flows", body = OAuthError)))]
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
