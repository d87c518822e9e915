//! Model API versions, access tokens and logs (Tessera's own paths). Versions: view for anyone
//! who may view (`upstreamUrl` only for owners, editors and SysAdmins), deploy (to a model
//! server `[models] allowed_upstreams` allows) and activate for the owner and editors who are
//! project Owner or Contributor. Tokens: owner and editors see, create and reveal; only the owner revokes.
//! Logs: owner, editors and viewers. Audit history: owner and editors.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::ids::{ModelApiId, ModelTokenId};
use tessera_core::model_apis::{ModelToken, ModelVersion, VersionView};
use tessera_core::names::{TokenName, parse_text};
use tessera_core::services::model_serving::Versions;
use tessera_core::upstreams::UpstreamUrl;

use super::path_id;
use crate::authn::Identity;
use crate::error::ApiResult;
use crate::extract::{AppJson, AppQuery, limit};
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

fn version_json(v: &ModelVersion) -> Value {
    json!({ "number": v.number, "upstreamUrl": v.upstream_url, "description": v.description, "createdAt": time(v.created_at), "active": v.active })
}

/// A version as the caller may see it: `upstreamUrl` is left out for those who may not.
fn view_json(v: &VersionView) -> Value {
    let mut json = json!({ "number": v.number, "description": v.description, "createdAt": time(v.created_at), "active": v.active });
    if let Some(url) = &v.upstream_url {
        json["upstreamUrl"] = json!(url);
    }
    json
}

fn versions_json(versions: &Versions) -> Json<Vec<Value>> {
    Json(versions.versions.iter().map(view_json).collect())
}

fn token_json(t: &ModelToken) -> Value {
    json!({ "id": t.id.to_string(), "name": t.name.as_str(), "createdAt": time(t.created_at), "createdBy": t.created_by.as_str(), "revokedAt": t.revoked_at.map(time) })
}

async fn versions(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    let versions = state.model_serving.versions(&caller, api_id(&raw)?).await?;
    Ok(versions_json(&versions))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeployBody {
    upstream_url: String,
    description: Option<String>,
}

async fn deploy(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<DeployBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
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

async fn activate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, number)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Value>>> {
    let number: i64 = number
        .parse()
        .map_err(|_| crate::error::ApiError::NotFound("version not found".into()))?;
    let versions = state
        .model_serving
        .activate(&caller, api_id(&raw)?, number)
        .await?;
    Ok(versions_json(&versions))
}

async fn tokens(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    let tokens = state.model_serving.tokens(&caller, api_id(&raw)?).await?;
    Ok(Json(tokens.iter().map(token_json).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: String,
}

/// The token's value is in this response (and in audited reveals), nowhere else.
async fn create_token(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<TokenBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = TokenName::parse("name", &body.name)?;
    let (token, secret) = state
        .model_serving
        .create_token(&caller, api_id(&raw)?, name)
        .await?;
    let mut json = token_json(&token);
    json["token"] = json!(secret.into_exposed());
    Ok((StatusCode::CREATED, Json(json)))
}

async fn reveal(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, t)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (token, value) = state
        .model_serving
        .reveal(&caller, api_id(&raw)?, token_id(&t)?)
        .await?;
    let mut json = token_json(&token);
    json["token"] = json!(value);
    Ok(Json(json))
}

async fn revoke(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, t)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let token = state
        .model_serving
        .revoke(&caller, api_id(&raw)?, token_id(&t)?)
        .await?;
    Ok(Json(token_json(&token)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsQuery {
    limit: Option<u32>,
}

async fn logs(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppQuery(q): AppQuery<LogsQuery>,
) -> ApiResult<Json<Vec<Value>>> {
    let entries = state
        .model_serving
        .logs(&caller, api_id(&raw)?, limit(q.limit)?)
        .await?;
    Ok(Json(
        entries
            .iter()
            .map(|i| json!({ "at": time(i.at), "version": i.version, "status": i.status, "latencyMs": i.latency_ms, "tokenName": i.token_name }))
            .collect(),
    ))
}

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
