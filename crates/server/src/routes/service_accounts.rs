//! Service accounts and their named tokens (Domino paths). SysAdmin only (domain policy).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tessera_core::ids::UserId;
use tessera_core::names::TokenName;
use tessera_core::services::service_accounts::NewServiceAccount;

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    username: String,
    email: Option<String>,
    description: Option<String>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    cursor: Option<String>,
    #[serde(default)]
    offset: u32,
    limit: Option<u32>,
}

/// A page of service accounts by name, with the paging headers of `crate::paging`.
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<ServiceAccountJson>>)> {
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
    let body = page.items.iter().map(ServiceAccountJson::new).collect();
    Ok((paging::headers(page.next.as_ref(), total), Json(body)))
}

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenBody {
    name: String,
    expires_in: Option<i64>,
}

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
