//! The caller's own personal access tokens (Domino paths), and the expiration policy.
//! Any authenticated person; service accounts are refused by the domain policy.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::ids::CredentialId;
use tessera_core::services::pats::NewPat;
use tessera_core::store::CredentialFilter;
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::authn::Identity;
use crate::error::ApiResult;
use crate::extract::{AppJson, AppQuery, whole_list_limit};
use crate::paging;
use crate::state::AppState;
use crate::wire::{CountJson, PatJson};

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

/// Domino path: fields it does not know are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewPatBody)]
struct CreateBody {
    #[schema(schema_with = super::openapi::rules::token_name)]
    name: String,
    #[schema(schema_with = super::openapi::rules::description)]
    description: Option<String>,
    /// Lifetime in seconds (a whole number; `86400.0` is accepted); the policy's default when absent.
    #[serde(default, deserialize_with = "crate::extract::seconds")]
    #[schema(schema_with = super::openapi::rules::lifetime)]
    expires_in: Option<i64>,
}

const PAT_ID: &str = "The token's id (`patId`)";

#[utoipa::path(post, path = "/api/pat/v1/tokens", tag = "pats", operation_id = "createPat",
    request_body = CreateBody,
    responses((status = 201, description = "The new token, with its secret (shown this once)", body = PatJson)))]
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

/// Domino path: parameters it does not know are ignored.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The `X-Next-Cursor` of the previous page; not with `offset`.
    cursor: Option<String>,
    #[serde(default)]
    offset: u32,
    /// From 1 to 1000; 1000 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A page of the caller's tokens, newest first, with the paging headers of `crate::paging`.
#[utoipa::path(get, path = "/api/pat/v1/tokens", tag = "pats", operation_id = "listPats",
    params(ListQuery),
    responses((status = 200, description = "The caller's tokens", body = Vec<PatJson>,
        headers(("X-Next-Cursor" = String, description = "Opaque cursor of the next page (absent on the last)"), ("X-Total-Count" = u64, description = "Matching rows, exact up to 1,000"), ("X-Total-Is-Estimate" = bool, description = "true when X-Total-Count is a lower bound")))))]
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<paging::Listing<PatJson>> {
    let limit = whole_list_limit(q.limit)?;
    let after = paging::cursor(q.cursor.as_deref(), q.offset, |raw| {
        CredentialFilter::default().decode_cursor(raw)
    })?;
    let (page, total) = tokio::try_join!(
        state.pats.own_page(&caller, after, q.offset, limit),
        state.pats.own_count(&caller),
    )?;
    let now = state.pats.now();
    Ok(paging::listing(&page, total, |c| PatJson::new(c, now)))
}

fn pat_id(raw: &str) -> ApiResult<CredentialId> {
    path_id(raw, CredentialId::parse, "token")
}

#[utoipa::path(post, path = "/api/pat/v1/tokens/{patId}/invalidate", tag = "pats", operation_id = "revokePat",
    params(("patId" = String, Path, description = PAT_ID)),
    responses((status = 200, description = "The revoked token", body = PatJson)))]
async fn revoke_one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<PatJson>> {
    let credential = state.pats.revoke_own(&caller, pat_id(&raw)?).await?;
    Ok(Json(PatJson::new(&credential, state.pats.now())))
}

#[utoipa::path(delete, path = "/api/pat/v1/tokens/{patId}", tag = "pats", operation_id = "deletePat",
    params(("patId" = String, Path, description = PAT_ID)),
    responses((status = 204, description = "Deleted")))]
async fn delete_one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    state.pats.delete_own(&caller, pat_id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/pat/v1/tokens/invalidate", tag = "pats", operation_id = "revokeAllPats",
    responses((status = 200, description = "How many tokens were revoked", body = CountJson)))]
async fn revoke_all(
    State(state): State<AppState>,
    Identity(caller): Identity,
) -> ApiResult<Json<CountJson>> {
    let revoked = state.pats.revoke_all_own(&caller).await?;
    Ok(Json(CountJson {
        count: revoked.len(),
    }))
}

#[utoipa::path(delete, path = "/api/pat/v1/tokens", tag = "pats", operation_id = "deleteAllPats",
    responses((status = 200, description = "How many tokens were deleted", body = CountJson)))]
async fn delete_all(
    State(state): State<AppState>,
    Identity(caller): Identity,
) -> ApiResult<Json<CountJson>> {
    let deleted = state.pats.delete_all_own(&caller).await?;
    Ok(Json(CountJson {
        count: deleted.len(),
    }))
}

#[utoipa::path(post, path = "/api/pat/v1/tokens/{patId}/rotate", tag = "pats", operation_id = "rotatePat",
    params(("patId" = String, Path, description = PAT_ID)),
    responses((status = 201, description = "The new token, with its secret; the old one is revoked", body = PatJson)))]
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
#[utoipa::path(get, path = "/api/pat/v1/tokens/expiration-policy", tag = "pats", operation_id = "patExpirationPolicy",
    responses((status = 200, description = "Lifetimes, in seconds", body = ExpirationPolicyJson)))]
async fn expiration_policy(
    State(state): State<AppState>,
    Identity(_caller): Identity,
) -> Json<ExpirationPolicyJson> {
    let policy = state.pats.policy();
    Json(ExpirationPolicyJson {
        max_expires_in: policy.max_secs,
        default_expires_in: policy.default_secs,
        options: policy.options(),
    })
}

/// The PAT lifetimes the server allows, in seconds (Domino).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ExpirationPolicyJson {
    max_expires_in: i64,
    default_expires_in: i64,
    options: Vec<i64>,
}
