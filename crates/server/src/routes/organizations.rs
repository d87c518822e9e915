//! Organizations and their members. SysAdmin only (domain policy).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::ids::{OrganizationId, UserId};
use tessera_core::names::UserName;
use tessera_core::services::organizations::parse_name;
use tessera_core::store::{ORGANIZATIONS_CURSOR, Organization};
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::authn::Identity;
use crate::error::ApiResult;
use crate::extract::{AppJson, AppQuery, whole_list_limit};
use crate::paging;
use crate::state::AppState;
use crate::wire::time;

const BASE: &str = "/api/organizations/v1/organizations";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}/{{org_id}}/members"), post(add_member))
        .route(
            &format!("{BASE}/{{org_id}}/members/{{user_id}}"),
            delete(remove_member),
        )
        .route(&format!("{BASE}/{{org_id}}"), get(one))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct OrganizationJson {
    id: String,
    name: String,
    created_at: String,
    members: Vec<MemberJson>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = OrganizationMemberJson)]
struct MemberJson {
    id: String,
    user_name: String,
}

impl OrganizationJson {
    fn new(o: &Organization) -> OrganizationJson {
        OrganizationJson {
            id: o.id.to_string(),
            name: o.name.clone(),
            created_at: time(o.created_at),
            members: o
                .members
                .iter()
                .map(|(id, name)| MemberJson {
                    id: id.to_string(),
                    user_name: name.to_string(),
                })
                .collect(),
        }
    }
}

fn org_id(raw: &str) -> ApiResult<OrganizationId> {
    path_id(raw, OrganizationId::parse, "organization")
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewOrganizationBody)]
struct CreateBody {
    #[schema(schema_with = super::openapi::rules::organization_name)]
    name: String,
}

/// SysAdmin only.
#[utoipa::path(post, path = "/api/organizations/v1/organizations", tag = "admin", operation_id = "createOrganization",
    request_body = CreateBody,
    responses((status = 201, description = "The new organization", body = OrganizationJson)))]
async fn create(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<OrganizationJson>)> {
    let org = state
        .organizations
        .create(&caller, parse_name(&body.name)?)
        .await?;
    Ok((StatusCode::CREATED, Json(OrganizationJson::new(&org))))
}

/// Parameters it does not know are ignored.
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

/// A page of organizations by name, with the paging headers of `crate::paging`. SysAdmin only.
#[utoipa::path(get, path = "/api/organizations/v1/organizations", tag = "admin", operation_id = "listOrganizations",
    params(ListQuery),
    responses((status = 200, description = "Organizations", body = Vec<OrganizationJson>,
        headers(("X-Next-Cursor" = String, description = "Opaque cursor of the next page (absent on the last)"), ("X-Total-Count" = u64, description = "Matching rows, exact up to 1,000"), ("X-Total-Is-Estimate" = bool, description = "true when X-Total-Count is a lower bound")))))]
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<paging::Listing<OrganizationJson>> {
    let query = paging::query(
        q.cursor.as_deref(),
        q.offset,
        whole_list_limit(q.limit)?,
        ORGANIZATIONS_CURSOR,
    )?;
    // One after the other: a listing holds one database connection at a time.
    let page = state.organizations.page(&caller, query).await?;
    let total = state.organizations.count(&caller).await?;
    Ok(paging::listing(&page, total, OrganizationJson::new))
}

/// SysAdmin only.
#[utoipa::path(get, path = "/api/organizations/v1/organizations/{orgId}", tag = "admin", operation_id = "getOrganization",
    params(("orgId" = String, Path, description = "The organization's id")),
    responses((status = 200, description = "The organization", body = OrganizationJson)))]
async fn one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<OrganizationJson>> {
    let id = org_id(&raw)?;
    let org = state.organizations.get(&caller, id).await?;
    Ok(Json(OrganizationJson::new(&org)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = NewMemberBody)]
struct MemberBody {
    #[schema(schema_with = super::openapi::rules::user_name)]
    user_name: String,
}

/// Membership feeds the `organizations` claim mapper, so the member's cached tokens are dropped.
/// SysAdmin only.
#[utoipa::path(post, path = "/api/organizations/v1/organizations/{orgId}/members", tag = "admin", operation_id = "addOrganizationMember",
    params(("orgId" = String, Path, description = "The organization's id")),
    request_body = MemberBody,
    responses((status = 200, description = "The organization", body = OrganizationJson)))]
async fn add_member(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<MemberBody>,
) -> ApiResult<Json<OrganizationJson>> {
    let name = UserName::parse("userName", &body.user_name)?;
    let (org, user) = state
        .organizations
        .add_member(&caller, org_id(&raw)?, &name)
        .await?;
    state.realm.forget_principal(user);
    Ok(Json(OrganizationJson::new(&org)))
}

/// SysAdmin only.
#[utoipa::path(delete, path = "/api/organizations/v1/organizations/{orgId}/members/{userId}", tag = "admin", operation_id = "removeOrganizationMember",
    params(("orgId" = String, Path, description = "The organization's id"), ("userId" = String, Path, description = "The member's user id")),
    responses((status = 200, description = "The organization", body = OrganizationJson)))]
async fn remove_member(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, user)): Path<(String, String)>,
) -> ApiResult<Json<OrganizationJson>> {
    let user = path_id(&user, UserId::parse, "member")?;
    let org = state
        .organizations
        .remove_member(&caller, org_id(&raw)?, user)
        .await?;
    state.realm.forget_principal(user);
    Ok(Json(OrganizationJson::new(&org)))
}
