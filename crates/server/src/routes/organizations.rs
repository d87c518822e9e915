//! Organizations and their members. SysAdmin only (domain policy).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::ids::{OrganizationId, UserId};
use tessera_core::names::UserName;
use tessera_core::services::organizations::parse_name;
use tessera_core::store::Organization;
use utoipa::ToSchema;

use super::path_id;
use crate::authn::Identity;
use crate::error::ApiResult;
use crate::extract::AppJson;
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

/// SysAdmin only.
#[utoipa::path(get, path = "/api/organizations/v1/organizations", tag = "admin", operation_id = "listOrganizations",
    responses((status = 200, description = "Organizations", body = Vec<OrganizationJson>)))]
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
) -> ApiResult<Json<Vec<OrganizationJson>>> {
    let orgs = state.organizations.list(&caller).await?;
    Ok(Json(orgs.iter().map(OrganizationJson::new).collect()))
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
    let orgs = state.organizations.list(&caller).await?;
    let org = orgs
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(|| crate::error::ApiError::NotFound("organization not found".into()))?;
    Ok(Json(OrganizationJson::new(org)))
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
