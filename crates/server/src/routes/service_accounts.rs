//! Service accounts and their named tokens (Domino paths). SysAdmin only (domain policy).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tessera_core::ids::UserId;
use tessera_core::names::TokenName;
use tessera_core::services::service_accounts::NewServiceAccount;
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::authn::Identity;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, AppQuery, limit};
use crate::paging;
use crate::state::AppState;
use crate::wire::{ServiceAccountJson, ServiceAccountTokenJson};
use tessera_core::store::PrincipalQuery;

const BASE: &str = "/api/serviceAccounts/v1/serviceAccounts";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}/{{id}}"), get(one))
        .route(&format!("{BASE}/{{id}}/deactivate"), post(deactivate))
        .route(&format!("{BASE}/{{id}}/activate"), post(activate))
        .route(
            &format!("{BASE}/{{id}}/tokens"),
            get(tokens).post(create_token),
        )
        .route(&format!("{BASE}/{{id}}/tokens/{{name}}"), get(token))
        .route(
            &format!("{BASE}/{{id}}/tokens/{{name}}/invalidate"),
            post(invalidate_token),
        )
}

fn account_id(raw: &str) -> ApiResult<UserId> {
    path_id(raw, UserId::parse, "service account")
}

fn token_name(raw: &str) -> ApiResult<TokenName> {
    TokenName::parse("tokenName", raw).map_err(|_| ApiError::NotFound("token not found".into()))
}

/// Domino path: fields it does not know are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewServiceAccountBody)]
struct CreateBody {
    #[schema(schema_with = super::openapi::rules::user_name)]
    username: String,
    #[schema(schema_with = super::openapi::rules::email)]
    email: Option<String>,
    #[schema(schema_with = super::openapi::rules::description)]
    description: Option<String>,
}

#[utoipa::path(post, path = "/api/serviceAccounts/v1/serviceAccounts", tag = "service-accounts", operation_id = "createServiceAccount",
    request_body = CreateBody,
    responses((status = 201, description = "The new service account", body = ServiceAccountJson)))]
async fn create(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<ServiceAccountJson>)> {
    let request = NewServiceAccount::parse(
        &body.username,
        body.email.as_deref(),
        body.description.as_deref(),
    )?;
    let account = state.service_accounts.create(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(ServiceAccountJson::new(&account))))
}

/// Domino path: parameters it does not know are ignored.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The `X-Next-Cursor` of the previous page; not with `offset`.
    cursor: Option<String>,
    #[serde(default)]
    offset: u32,
    /// From 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A page of service accounts by name, with the paging headers of `crate::paging`.
#[utoipa::path(get, path = "/api/serviceAccounts/v1/serviceAccounts", tag = "service-accounts", operation_id = "listServiceAccounts",
    params(ListQuery),
    responses((status = 200, description = "Service accounts", body = Vec<ServiceAccountJson>,
        headers(("X-Next-Cursor" = String, description = "Opaque cursor of the next page (absent on the last)"), ("X-Total-Count" = u64, description = "Matching rows, exact up to 1,000"), ("X-Total-Is-Estimate" = bool, description = "true when X-Total-Count is a lower bound")))))]
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<paging::Listing<ServiceAccountJson>> {
    let query = PrincipalQuery {
        after: paging::cursor(q.cursor.as_deref(), q.offset, PrincipalQuery::decode_cursor)?,
        offset: q.offset,
        limit: limit(q.limit)?,
        ..PrincipalQuery::default()
    };
    let (page, total) = tokio::try_join!(
        state.service_accounts.list(&caller, query.clone()),
        state.service_accounts.count(&caller, query.clone()),
    )?;
    Ok(paging::listing(&page, total, ServiceAccountJson::new))
}

#[utoipa::path(get, path = "/api/serviceAccounts/v1/serviceAccounts/{id}", tag = "service-accounts", operation_id = "getServiceAccount",
    params(("id" = String, Path, description = "The service account's id")),
    responses((status = 200, description = "The service account", body = ServiceAccountJson)))]
async fn one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<ServiceAccountJson>> {
    let account = state
        .service_accounts
        .get(&caller, account_id(&raw)?)
        .await?;
    Ok(Json(ServiceAccountJson::new(&account)))
}

#[utoipa::path(post, path = "/api/serviceAccounts/v1/serviceAccounts/{id}/deactivate", tag = "service-accounts", operation_id = "deactivateServiceAccount",
    params(("id" = String, Path, description = "The service account's id")),
    responses((status = 200, description = "The service account; its tokens stop working", body = ServiceAccountJson)))]
async fn deactivate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<ServiceAccountJson>> {
    let account = state
        .service_accounts
        .set_active(&caller, account_id(&raw)?, false)
        .await?;
    Ok(Json(ServiceAccountJson::new(&account)))
}

#[utoipa::path(post, path = "/api/serviceAccounts/v1/serviceAccounts/{id}/activate", tag = "service-accounts", operation_id = "activateServiceAccount",
    params(("id" = String, Path, description = "The service account's id")),
    responses((status = 200, description = "The service account", body = ServiceAccountJson)))]
async fn activate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<ServiceAccountJson>> {
    let account = state
        .service_accounts
        .set_active(&caller, account_id(&raw)?, true)
        .await?;
    Ok(Json(ServiceAccountJson::new(&account)))
}

/// Domino path: fields it does not know are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewServiceAccountTokenBody)]
struct TokenBody {
    #[schema(schema_with = super::openapi::rules::token_name)]
    name: String,
    /// Lifetime in seconds (a whole number; `86400.0` is accepted); none when absent.
    #[serde(default, deserialize_with = "crate::extract::seconds")]
    #[schema(schema_with = super::openapi::rules::lifetime)]
    expires_in: Option<i64>,
}

#[utoipa::path(post, path = "/api/serviceAccounts/v1/serviceAccounts/{id}/tokens", tag = "service-accounts", operation_id = "createServiceAccountToken",
    params(("id" = String, Path, description = "The service account's id")),
    request_body = TokenBody,
    responses((status = 201, description = "The new token, with its secret (shown this once)", body = ServiceAccountTokenJson)))]
async fn create_token(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<TokenBody>,
) -> ApiResult<(StatusCode, Json<ServiceAccountTokenJson>)> {
    let id = account_id(&raw)?;
    let name = TokenName::parse("name", &body.name)?;
    let (credential, secret) = state
        .service_accounts
        .create_token(&caller, id, name, body.expires_in)
        .await?;
    let account = state.service_accounts.get(&caller, id).await?;
    let mut json = ServiceAccountTokenJson::new(&account, &credential, state.pats.now());
    json.token = Some(secret.into_exposed());
    Ok((StatusCode::CREATED, Json(json)))
}

#[utoipa::path(get, path = "/api/serviceAccounts/v1/serviceAccounts/{id}/tokens", tag = "service-accounts", operation_id = "listServiceAccountTokens",
    params(("id" = String, Path, description = "The service account's id")),
    responses((status = 200, description = "The account's tokens", body = Vec<ServiceAccountTokenJson>)))]
async fn tokens(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<ServiceAccountTokenJson>>> {
    let (account, tokens) = state
        .service_accounts
        .tokens(&caller, account_id(&raw)?)
        .await?;
    let now = state.pats.now();
    Ok(Json(
        tokens
            .iter()
            .map(|c| ServiceAccountTokenJson::new(&account, c, now))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/serviceAccounts/v1/serviceAccounts/{id}/tokens/{tokenName}", tag = "service-accounts", operation_id = "getServiceAccountToken",
    params(("id" = String, Path, description = "The service account's id"), ("tokenName" = String, Path, description = "The token's name")),
    responses((status = 200, description = "The token", body = ServiceAccountTokenJson)))]
async fn token(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, name)): Path<(String, String)>,
) -> ApiResult<Json<ServiceAccountTokenJson>> {
    let (account, credential) = state
        .service_accounts
        .token(&caller, account_id(&raw)?, &token_name(&name)?)
        .await?;
    Ok(Json(ServiceAccountTokenJson::new(
        &account,
        &credential,
        state.pats.now(),
    )))
}

#[utoipa::path(post, path = "/api/serviceAccounts/v1/serviceAccounts/{id}/tokens/{tokenName}/invalidate", tag = "service-accounts", operation_id = "revokeServiceAccountToken",
    params(("id" = String, Path, description = "The service account's id"), ("tokenName" = String, Path, description = "The token's name")),
    responses((status = 200, description = "The revoked token", body = ServiceAccountTokenJson)))]
async fn invalidate_token(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, name)): Path<(String, String)>,
) -> ApiResult<Json<ServiceAccountTokenJson>> {
    let (account, credential) = state
        .service_accounts
        .invalidate_token(&caller, account_id(&raw)?, &token_name(&name)?)
        .await?;
    Ok(Json(ServiceAccountTokenJson::new(
        &account,
        &credential,
        state.pats.now(),
    )))
}
