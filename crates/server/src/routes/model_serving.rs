//! Model API versions, access tokens and logs (Tessera's own paths). Versions: view for anyone
//! who may view (`upstreamUrl` only for owners, editors and SysAdmins), deploy (to a model
//! server `[models] allowed_upstreams` allows) and activate for the owner and editors who are
//! project Owner or Contributor. Tokens: owner and editors see, create and reveal; only the owner revokes.
//! Logs: owner, editors and viewers. Audit history: owner and editors.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::ids::{ModelApiId, ModelTokenId};
use tessera_core::model_apis::{Invocation, ModelToken, ModelVersion, VersionView};
use tessera_core::names::{TokenName, parse_text};
use tessera_core::paging::{Cursor, PageQuery};
use tessera_core::services::model_serving::Versions;
use tessera_core::store::INVOCATIONS_CURSOR;
use tessera_core::upstreams::UpstreamUrl;
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::authn::Identity;
use crate::error::ApiResult;
use crate::extract::{AppJson, AppQuery, limit};
use crate::paging;
use crate::state::AppState;
use crate::wire::{AuditJson, time};

const BASE: &str = "/api/modelServing/v1/modelApis";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{BASE}/{{id}}/versions"),
            get(versions).post(deploy),
        )
        .route(
            &format!("{BASE}/{{id}}/versions/{{number}}/activate"),
            post(activate),
        )
        .route(
            &format!("{BASE}/{{id}}/accessTokens"),
            get(tokens).post(create_token),
        )
        .route(
            &format!("{BASE}/{{id}}/accessTokens/{{token_id}}/reveal"),
            post(reveal),
        )
        .route(
            &format!("{BASE}/{{id}}/accessTokens/{{token_id}}"),
            delete(revoke),
        )
        .route(&format!("{BASE}/{{id}}/logs"), get(logs))
        .route(&format!("{BASE}/{{id}}/audit"), get(audit))
}

fn api_id(raw: &str) -> ApiResult<ModelApiId> {
    path_id(raw, ModelApiId::parse, "model API")
}

fn token_id(raw: &str) -> ApiResult<ModelTokenId> {
    path_id(raw, ModelTokenId::parse, "token")
}

/// A version of a model API. `upstreamUrl` is left out for those who may not see it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ModelVersionJson)]
struct VersionJson {
    number: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    upstream_url: Option<String>,
    description: String,
    created_at: String,
    active: bool,
}

fn version_json(v: &ModelVersion) -> VersionJson {
    VersionJson {
        number: v.number,
        upstream_url: Some(v.upstream_url.clone()),
        description: v.description.clone(),
        created_at: time(v.created_at),
        active: v.active,
    }
}

/// A version as the caller may see it.
fn view_json(v: &VersionView) -> VersionJson {
    VersionJson {
        number: v.number,
        upstream_url: v.upstream_url.clone(),
        description: v.description.clone(),
        created_at: time(v.created_at),
        active: v.active,
    }
}

fn versions_json(versions: &Versions) -> Json<Vec<VersionJson>> {
    Json(versions.versions.iter().map(view_json).collect())
}

/// A model API access token; `token` (its value) only when created or revealed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ModelTokenJson {
    id: String,
    name: String,
    created_at: String,
    created_by: String,
    revoked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    token: Option<String>,
}

fn token_json(t: &ModelToken) -> ModelTokenJson {
    ModelTokenJson {
        id: t.id.to_string(),
        name: t.name.as_str().to_string(),
        created_at: time(t.created_at),
        created_by: t.created_by.as_str().to_string(),
        revoked_at: t.revoked_at.map(time),
        token: None,
    }
}

/// One invocation, as logged: the token's name, never its value.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct InvocationJson {
    at: String,
    version: Option<i64>,
    /// The HTTP status the caller got.
    status: u16,
    latency_ms: i64,
    token_name: Option<String>,
}

impl InvocationJson {
    fn new(i: &Invocation) -> InvocationJson {
        InvocationJson {
            at: time(i.at),
            version: i.version,
            status: i.status,
            latency_ms: i.latency_ms,
            token_name: i.token_name.clone(),
        }
    }
}

/// Anyone who may view the model API.
#[utoipa::path(get, path = "/api/modelServing/v1/modelApis/{id}/versions", tag = "model-apis", operation_id = "listModelVersions",
    params(("id" = String, Path, description = "The model API's id")),
    responses((status = 200, description = "Versions", body = Vec<VersionJson>)))]
async fn versions(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<VersionJson>>> {
    let versions = state.model_serving.versions(&caller, api_id(&raw)?).await?;
    Ok(versions_json(&versions))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeployBody {
    /// An `http` or `https` URL of a model server that `[models] allowed_upstreams` allows.
    #[schema(schema_with = super::openapi::rules::upstream_url)]
    upstream_url: String,
    #[schema(schema_with = super::openapi::rules::long_description)]
    description: Option<String>,
}

/// Owner and editors who are project Owner or Contributor.
#[utoipa::path(post, path = "/api/modelServing/v1/modelApis/{id}/versions", tag = "model-apis", operation_id = "deployModelVersion",
    params(("id" = String, Path, description = "The model API's id")), request_body = DeployBody,
    responses((status = 201, description = "The new version", body = VersionJson)))]
async fn deploy(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<DeployBody>,
) -> ApiResult<(StatusCode, Json<VersionJson>)> {
    let upstream = UpstreamUrl::parse(&body.upstream_url)?;
    let description = parse_text(
        "description",
        body.description.as_deref().unwrap_or(""),
        2000,
    )?;
    let version = state
        .model_serving
        .deploy(&caller, api_id(&raw)?, &upstream, &description)
        .await?;
    Ok((StatusCode::CREATED, Json(version_json(&version))))
}

/// Owner and editors who are project Owner or Contributor.
#[utoipa::path(post, path = "/api/modelServing/v1/modelApis/{id}/versions/{number}/activate", tag = "model-apis", operation_id = "activateModelVersion",
    params(("id" = String, Path, description = "The model API's id"), ("number" = i64, Path, description = "The version number")),
    responses((status = 200, description = "Versions", body = Vec<VersionJson>)))]
async fn activate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, number)): Path<(String, String)>,
) -> ApiResult<Json<Vec<VersionJson>>> {
    let number: i64 = number
        .parse()
        .map_err(|_| crate::error::ApiError::NotFound("version not found".into()))?;
    let versions = state
        .model_serving
        .activate(&caller, api_id(&raw)?, number)
        .await?;
    Ok(versions_json(&versions))
}

/// Owner and editors.
#[utoipa::path(get, path = "/api/modelServing/v1/modelApis/{id}/accessTokens", tag = "model-apis", operation_id = "listModelTokens",
    params(("id" = String, Path, description = "The model API's id")),
    responses((status = 200, description = "Access tokens, without their values", body = Vec<ModelTokenJson>)))]
async fn tokens(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<ModelTokenJson>>> {
    let tokens = state.model_serving.tokens(&caller, api_id(&raw)?).await?;
    Ok(Json(tokens.iter().map(token_json).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewModelTokenBody)]
struct TokenBody {
    #[schema(schema_with = super::openapi::rules::token_name)]
    name: String,
}

/// The token's value is in this response (and in audited reveals), nowhere else. Owner and editors.
#[utoipa::path(post, path = "/api/modelServing/v1/modelApis/{id}/accessTokens", tag = "model-apis", operation_id = "createModelToken",
    params(("id" = String, Path, description = "The model API's id")), request_body = TokenBody,
    responses((status = 201, description = "The new token, with its value", body = ModelTokenJson)))]
async fn create_token(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<TokenBody>,
) -> ApiResult<(StatusCode, Json<ModelTokenJson>)> {
    let name = TokenName::parse("name", &body.name)?;
    let (token, secret) = state
        .model_serving
        .create_token(&caller, api_id(&raw)?, name)
        .await?;
    let mut json = token_json(&token);
    json.token = Some(secret.into_exposed());
    Ok((StatusCode::CREATED, Json(json)))
}

/// Owner and editors; audited.
#[utoipa::path(post, path = "/api/modelServing/v1/modelApis/{id}/accessTokens/{tokenId}/reveal", tag = "model-apis", operation_id = "revealModelToken",
    params(("id" = String, Path, description = "The model API's id"), ("tokenId" = String, Path, description = "The access token's id")),
    responses((status = 200, description = "The token, with its value", body = ModelTokenJson)))]
async fn reveal(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, t)): Path<(String, String)>,
) -> ApiResult<Json<ModelTokenJson>> {
    let (token, value) = state
        .model_serving
        .reveal(&caller, api_id(&raw)?, token_id(&t)?)
        .await?;
    let mut json = token_json(&token);
    json.token = Some(value);
    Ok(Json(json))
}

/// Owner only.
#[utoipa::path(delete, path = "/api/modelServing/v1/modelApis/{id}/accessTokens/{tokenId}", tag = "model-apis", operation_id = "revokeModelToken",
    params(("id" = String, Path, description = "The model API's id"), ("tokenId" = String, Path, description = "The access token's id")),
    responses((status = 200, description = "The revoked token", body = ModelTokenJson)))]
async fn revoke(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, t)): Path<(String, String)>,
) -> ApiResult<Json<ModelTokenJson>> {
    let token = state
        .model_serving
        .revoke(&caller, api_id(&raw)?, token_id(&t)?)
        .await?;
    Ok(Json(token_json(&token)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LogsQuery {
    /// From 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LogPageQuery {
    /// The `X-Next-Cursor` of the previous page; not with `offset`.
    cursor: Option<String>,
    /// Entries to skip (the index walks them); not with `cursor`.
    #[serde(default)]
    offset: u32,
    /// From 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Owner, editors and viewers. A page of the invocation log, newest first, with the paging
/// headers of `crate::paging`.
#[utoipa::path(get, path = "/api/modelServing/v1/modelApis/{id}/logs", tag = "model-apis", operation_id = "listModelInvocations",
    params(("id" = String, Path, description = "The model API's id"), LogPageQuery),
    responses((status = 200, description = "Invocations, newest first", body = Vec<InvocationJson>,
        headers(("X-Next-Cursor" = String, description = "Opaque cursor of the next page (absent on the last)"), ("X-Total-Count" = u64, description = "Entries in the log, exact up to 1,000"), ("X-Total-Is-Estimate" = bool, description = "true when X-Total-Count is a lower bound")))))]
async fn logs(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppQuery(q): AppQuery<LogPageQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<InvocationJson>>)> {
    let id = api_id(&raw)?;
    let query = PageQuery {
        after: paging::cursor(q.cursor.as_deref(), q.offset, |raw| {
            Cursor::decode(raw, INVOCATIONS_CURSOR, true, true)
        })?,
        offset: q.offset,
        limit: limit(q.limit)?,
    };
    let (page, total) = state.model_serving.logs_page(&caller, id, query).await?;
    let body = page
        .items
        .iter()
        .map(|l| InvocationJson::new(&l.entry))
        .collect();
    Ok((paging::page_headers(&page, total, q.offset), Json(body)))
}

/// Owner and editors.
#[utoipa::path(get, path = "/api/modelServing/v1/modelApis/{id}/audit", tag = "model-apis", operation_id = "listModelAudit",
    params(("id" = String, Path, description = "The model API's id"), LogsQuery),
    responses((status = 200, description = "Audit entries about this model API", body = Vec<AuditJson>)))]
async fn audit(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppQuery(q): AppQuery<LogsQuery>,
) -> ApiResult<Json<Vec<AuditJson>>> {
    let entries = state
        .model_serving
        .audit_history(&caller, api_id(&raw)?, limit(q.limit)?)
        .await?;
    Ok(Json(entries.iter().map(AuditJson::new).collect()))
}
