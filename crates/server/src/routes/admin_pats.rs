//! Every user's PATs, for administrators: list with search and filters, revoke and delete one
//! or in bulk. SysAdmin only (domain policy). Secrets are never available here.

use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::ids::CredentialId;
use tessera_core::model::TokenStatus;
use tessera_core::names::{FieldError, UserName};
use tessera_core::store::CredentialFilter;
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::authn::Identity;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, AppQuery, limit};
use crate::paging;
use crate::state::AppState;
use crate::wire::PatJson;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/pat/v1/admin/tokens", get(list))
        .route("/api/pat/v1/admin/tokens/invalidate", post(bulk_revoke))
        .route("/api/pat/v1/admin/tokens/delete", post(bulk_delete))
        .route("/api/pat/v1/admin/tokens/{pat_id}", delete(delete_one))
        .route(
            "/api/pat/v1/admin/tokens/{pat_id}/invalidate",
            post(revoke_one),
        )
}

fn status(field: &'static str, raw: Option<&str>) -> Result<Option<TokenStatus>, FieldError> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            TokenStatus::parse(s).ok_or_else(|| {
                FieldError::new(
                    field,
                    format!(
                        "unknown status {s:?}; expected Active, ExpiringSoon, Expired or Revoked"
                    ),
                )
            })
        })
        .transpose()
}

fn user_name(raw: Option<&str>) -> Result<Option<UserName>, FieldError> {
    raw.filter(|s| !s.is_empty())
        .map(|s| UserName::parse("userName", s))
        .transpose()
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Part of the token's name or of its owner's user name.
    search: Option<String>,
    /// Exactly this owner.
    user_name: Option<String>,
    /// `Active`, `ExpiringSoon`, `Expired` or `Revoked`.
    #[param(schema_with = super::openapi::rules::pat_status)]
    status: Option<String>,
    /// The `X-Next-Cursor` of the previous page; not with `offset`.
    cursor: Option<String>,
    #[serde(default)]
    offset: u32,
    /// From 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A page of PATs across users, in the order of its status filter (see `CredentialOrder`),
/// with the paging headers of `crate::paging`.
#[utoipa::path(get, path = "/api/pat/v1/admin/tokens", tag = "admin", operation_id = "listAllPats",
    params(ListQuery),
    responses((status = 200, description = "Tokens of every user", body = Vec<PatJson>,
        headers(("X-Next-Cursor" = String, description = "Opaque cursor of the next page (absent on the last)"), ("X-Total-Count" = u64, description = "Matching rows, exact up to 1,000; a search of 3 or more characters counts the matches among at most 1,000 candidates of its index (rows holding three of its trigrams): past them, a lower bound"), ("X-Total-Is-Estimate" = bool, description = "true when X-Total-Count is a lower bound")))))]
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<paging::Listing<PatJson>> {
    let mut filter = CredentialFilter {
        search: q.search,
        user_name: user_name(q.user_name.as_deref())?,
        status: status("status", q.status.as_deref())?,
        offset: q.offset,
        limit: limit(q.limit)?,
        ..CredentialFilter::default()
    };
    filter.after = paging::cursor(q.cursor.as_deref(), q.offset, |raw| {
        filter.decode_cursor(raw)
    })?;
    let now = state.pats.now();
    let (page, total) = tokio::try_join!(
        state.pats.admin_page(&caller, filter.clone()),
        state.pats.admin_count(&caller, filter.clone()),
    )?;
    let body = page
        .items
        .iter()
        .map(|o| PatJson {
            user_name: Some(o.owner.user_name.to_string()),
            ..PatJson::new(&o.credential, now)
        })
        .collect();
    Ok((
        paging::page_headers(&page, total, filter.offset),
        Json(body),
    ))
}

/// Which tokens: every condition given must hold.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = PatSelection)]
struct BulkBody {
    pat_ids: Option<Vec<String>>,
    user_name: Option<String>,
    #[schema(schema_with = super::openapi::rules::pat_status)]
    status: Option<String>,
    /// The listing's search rule (see `GET /api/pat/v1/admin/tokens`).
    search: Option<String>,
}

impl BulkBody {
    fn filter(self) -> ApiResult<CredentialFilter> {
        let ids = self
            .pat_ids
            .map(|ids| {
                ids.iter()
                    .map(|raw| {
                        CredentialId::parse(raw).ok_or_else(|| {
                            ApiError::BadRequest(format!("patIds: {raw:?} is not a token id"))
                        })
                    })
                    .collect::<ApiResult<Vec<_>>>()
            })
            .transpose()?;
        Ok(CredentialFilter {
            ids,
            user_name: user_name(self.user_name.as_deref())?,
            status: status("status", self.status.as_deref())?,
            search: self.search.filter(|s| !s.trim().is_empty()),
            ..CredentialFilter::default()
        })
    }
}

fn summary(affected: &[tessera_core::model::Credential]) -> Json<BulkJson> {
    Json(BulkJson {
        count: affected.len(),
        pat_ids: affected.iter().map(|c| c.id.to_string()).collect(),
    })
}

/// The tokens a bulk operation affected.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BulkJson {
    count: usize,
    pat_ids: Vec<String>,
}

#[utoipa::path(post, path = "/api/pat/v1/admin/tokens/invalidate", tag = "admin", operation_id = "revokePats",
    request_body = BulkBody,
    responses((status = 200, description = "The revoked tokens", body = BulkJson)))]
async fn bulk_revoke(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppJson(body): AppJson<BulkBody>,
) -> ApiResult<Json<BulkJson>> {
    let revoked = state.pats.admin_revoke(&caller, body.filter()?).await?;
    Ok(summary(&revoked))
}

#[utoipa::path(post, path = "/api/pat/v1/admin/tokens/delete", tag = "admin", operation_id = "deletePats",
    request_body = BulkBody,
    responses((status = 200, description = "The deleted tokens", body = BulkJson)))]
async fn bulk_delete(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppJson(body): AppJson<BulkBody>,
) -> ApiResult<Json<BulkJson>> {
    let deleted = state.pats.admin_delete(&caller, body.filter()?).await?;
    Ok(summary(&deleted))
}

fn one(raw: &str) -> ApiResult<CredentialFilter> {
    Ok(CredentialFilter {
        ids: Some(vec![path_id(raw, CredentialId::parse, "token")?]),
        ..CredentialFilter::default()
    })
}

#[utoipa::path(post, path = "/api/pat/v1/admin/tokens/{patId}/invalidate", tag = "admin", operation_id = "adminRevokePat",
    params(("patId" = String, Path, description = "The token's id")),
    responses((status = 200, description = "The revoked token", body = PatJson)))]
async fn revoke_one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<PatJson>> {
    let filter = one(&raw)?;
    state.pats.admin_revoke(&caller, filter.clone()).await?;
    let now = state.pats.now();
    let found = state.pats.admin_list(&caller, filter).await?;
    let owned = found
        .first()
        .ok_or_else(|| ApiError::NotFound("token not found".into()))?;
    Ok(Json(PatJson {
        user_name: Some(owned.owner.user_name.to_string()),
        ..PatJson::new(&owned.credential, now)
    }))
}

#[utoipa::path(delete, path = "/api/pat/v1/admin/tokens/{patId}", tag = "admin", operation_id = "adminDeletePat",
    params(("patId" = String, Path, description = "The token's id")),
    responses((status = 204, description = "Deleted")))]
async fn delete_one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    let deleted = state.pats.admin_delete(&caller, one(&raw)?).await?;
    if deleted.is_empty() {
        return Err(ApiError::NotFound("token not found".into()));
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}
