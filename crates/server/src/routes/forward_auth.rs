//! Forward authentication for the proxies platforms already run (SPEC section 10): nginx
//! `auth_request`, the ingress-nginx `auth-url` annotation, Traefik `ForwardAuth` and Envoy's
//! HTTP `ext_authz` ask `/auth/verify` (or `/auth/verify/<the original path>`, with any method)
//! whether the request they hold may pass. The credential is authenticated exactly as the
//! gateway does; the answer is 200 with the headers to pass upstream, or 401 with the envelope
//! and a challenge. Nothing is forwarded from here.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use crate::authn::Identity;
use crate::error::ApiError;
use crate::state::AppState;

/// `X-Tessera-User`: the caller's user name.
pub const USER_HEADER: &str = "x-tessera-user";
/// `X-Tessera-Subject`: the caller's id, the JWT's `sub`.
pub const SUBJECT_HEADER: &str = "x-tessera-subject";

/// The original path a proxy appends goes under this prefix; like a gateway route's prefix it is
/// a boundary that dot segments may not climb out of (a 400 then, so the proxy denies).
pub const PREFIX: &str = "/auth/verify/";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/verify", any(verify))
        .route(PREFIX, any(verify_prefix))
        .route("/auth/verify/{*path}", any(verify_path))
}

/// Any authenticated principal, with any kind of credential: 200 with
/// `Authorization: Bearer <access JWT>` (derived from the presented credential, so it dies with
/// it), `X-Tessera-User` and `X-Tessera-Subject`; 401 otherwise; 429 over the failure limit.
#[utoipa::path(method(get, post, put, patch, delete), path = "/auth/verify", tag = "forward-auth", operation_id = "verify",
    security(("bearer" = []), ("apiKey" = [])),
    responses((status = 200, description = "May pass: `Authorization: Bearer <access JWT>`, `X-Tessera-User` and `X-Tessera-Subject` to forward", headers(("X-Tessera-User" = String, description = "The caller's user name"), ("X-Tessera-Subject" = String, description = "The caller's id")))))]
async fn verify(
    State(state): State<AppState>,
    Identity(caller): Identity,
) -> Result<Response, ApiError> {
    let issued = state
        .realm
        .issue(caller.principal(), caller.credential(), None)
        .await?;
    let user = caller.principal();
    let bearer = HeaderValue::from_str(&format!("Bearer {}", issued.token))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let name = HeaderValue::from_str(user.user_name.as_str())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let subject = HeaderValue::from_str(&user.id.to_string())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(header::AUTHORIZATION, bearer);
    headers.insert(USER_HEADER, name);
    headers.insert(SUBJECT_HEADER, subject);
    // The answer is per credential: no proxy may cache it for another request.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `/auth/verify/`: as `/auth/verify`.
#[utoipa::path(method(get, post, put, patch, delete), path = "/auth/verify/", tag = "forward-auth", operation_id = "verifyRoot",
    security(("bearer" = []), ("apiKey" = [])),
    responses((status = 200, description = "May pass: `Authorization: Bearer <access JWT>`, `X-Tessera-User` and `X-Tessera-Subject` to forward", headers(("X-Tessera-User" = String, description = "The caller's user name"), ("X-Tessera-Subject" = String, description = "The caller's id")))))]
async fn verify_prefix(state: State<AppState>, caller: Identity) -> Result<Response, ApiError> {
    verify(state, caller).await
}

/// `/auth/verify/<the original path>`: as `/auth/verify`; the path may not climb out (400).
#[utoipa::path(method(get, post, put, patch, delete), path = "/auth/verify/{path}", tag = "forward-auth", operation_id = "verifyPath",
    params(("path" = String, Path, description = "The original request's path")),
    security(("bearer" = []), ("apiKey" = [])),
    responses((status = 200, description = "May pass: `Authorization: Bearer <access JWT>`, `X-Tessera-User` and `X-Tessera-Subject` to forward", headers(("X-Tessera-User" = String, description = "The caller's user name"), ("X-Tessera-Subject" = String, description = "The caller's id")))))]
async fn verify_path(state: State<AppState>, caller: Identity) -> Result<Response, ApiError> {
    verify(state, caller).await
}
