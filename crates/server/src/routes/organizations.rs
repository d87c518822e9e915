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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationJson {
    id: String,
    name: String,
    created_at: String,
    members: Vec<MemberJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
}

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

async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
) -> ApiResult<Json<Vec<OrganizationJson>>> {
    let orgs = state.organizations.list(&caller).await?;
    Ok(Json(orgs.iter().map(OrganizationJson::new).collect()))
}

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MemberBody {
    user_name: String,
}

/// Membership feeds the `organizations` claim mapper, so the member's cached tokens are dropped.
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
