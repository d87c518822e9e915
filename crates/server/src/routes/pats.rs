//! The caller's own personal access tokens (Domino paths), and the expiration policy.
//! Any authenticated person; service accounts are refused by the domain policy.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tessera_core::ids::CredentialId;
use tessera_core::services::pats::NewPat;

use super::path_id;
use crate::authn::Identity;
use crate::error::ApiResult;
use crate::extract::AppJson;
use crate::state::AppState;
use crate::wire::PatJson;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/pat/v1/tokens",
            post(create).get(list).delete(delete_all),
        )
        .route("/api/pat/v1/tokens/invalidate", post(revoke_all))
        .route(
            "/api/pat/v1/tokens/expiration-policy",
            get(expiration_policy),
        )
        .route("/api/pat/v1/tokens/{pat_id}", delete(delete_one))
        .route("/api/pat/v1/tokens/{pat_id}/invalidate", post(revoke_one))
        .route("/api/pat/v1/tokens/{pat_id}/rotate", post(rotate))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    name: String,
    description: Option<String>,
    expires_in: Option<i64>,
}

async fn create(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<PatJson>)> {
    let request = NewPat::parse(&body.name, body.description.as_deref(), body.expires_in)?;
    let (credential, secret) = state.pats.create(&caller, request).await?;
    let mut json = PatJson::new(&credential, state.pats.now());
    json.token = Some(secret.into_exposed());
    Ok((StatusCode::CREATED, Json(json)))
}

async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
) -> ApiResult<Json<Vec<PatJson>>> {
    let now = state.pats.now();
    let tokens = state.pats.list_own(&caller).await?;
    Ok(Json(tokens.iter().map(|c| PatJson::new(c, now)).collect()))
}

fn pat_id(raw: &str) -> ApiResult<CredentialId> {
    path_id(raw, CredentialId::parse, "token")
}

async fn revoke_one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<PatJson>> {
    let credential = state.pats.revoke_own(&caller, pat_id(&raw)?).await?;
    Ok(Json(PatJson::new(&credential, state.pats.now())))
}

async fn delete_one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    state.pats.delete_own(&caller, pat_id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_all(
    State(state): State<AppState>,
    Identity(caller): Identity,
) -> ApiResult<Json<serde_json::Value>> {
    let revoked = state.pats.revoke_all_own(&caller).await?;
    Ok(Json(json!({ "count": revoked.len() })))
}

async fn delete_all(
    State(state): State<AppState>,
    Identity(caller): Identity,
) -> ApiResult<Json<serde_json::Value>> {
    let deleted = state.pats.delete_all_own(&caller).await?;
    Ok(Json(json!({ "count": deleted.len() })))
}

async fn rotate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<(StatusCode, Json<PatJson>)> {
    let (credential, secret) = state.pats.rotate_own(&caller, pat_id(&raw)?).await?;
    let mut json = PatJson::new(&credential, state.pats.now());
    json.token = Some(secret.into_exposed());
    Ok((StatusCode::CREATED, Json(json)))
}

/// Any authenticated principal.
async fn expiration_policy(
    State(state): State<AppState>,
    Identity(_caller): Identity,
) -> Json<serde_json::Value> {
    let policy = state.pats.policy();
    Json(json!({
        "maxExpiresIn": policy.max_secs,
        "defaultExpiresIn": policy.default_secs,
        "options": policy.options(),
    }))
}
