//! User administration. Every handler requires SysAdmin (checked by the domain policy).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tessera_core::ids::UserId;
use tessera_core::names::{Email, parse_text};
use tessera_core::roles::RoleSet;
use tessera_core::services::users::NewUser;
use tessera_core::store::{PrincipalQuery, ProfilePatch};

use super::path_id;
use crate::authn::Identity;
use crate::error::ApiResult;
use crate::extract::{AppJson, AppQuery, limit};
use crate::paging;
use crate::state::AppState;
use crate::wire::AdminUserJson;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/v1/users", post(create).get(list))
        .route("/api/admin/v1/users/{user_id}", get(one).patch(update))
        .route("/api/admin/v1/users/{user_id}/roles", put(set_roles))
        .route("/api/admin/v1/users/{user_id}/deactivate", post(deactivate))
        .route("/api/admin/v1/users/{user_id}/activate", post(activate))
        .route("/api/admin/v1/users/{user_id}/password", post(set_password))
}

fn user_id(raw: &str) -> ApiResult<UserId> {
    path_id(raw, UserId::parse, "user")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    user_name: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    roles: Option<Vec<String>>,
    password: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<AdminUserJson>)> {
    let request = NewUser::parse(
        &body.user_name,
        &body.email,
        body.first_name.as_deref(),
        body.last_name.as_deref(),
        body.roles.as_deref(),
        body.password,
    )?;
    let user = state.users.create(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(AdminUserJson::new(&user))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListQuery {
    search: Option<String>,
    cursor: Option<String>,
    #[serde(default)]
    offset: u32,
    limit: Option<u32>,
}

/// A page of users by user name, with the paging headers of `crate::paging`.
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<AdminUserJson>>)> {
    let query = PrincipalQuery {
        kind: None,
        after: paging::cursor(q.cursor.as_deref(), q.offset, PrincipalQuery::decode_cursor)?,
        search: q.search,
        offset: q.offset,
        limit: limit(q.limit)?,
    };
    let (page, total) = tokio::try_join!(
        state.users.list(&caller, query.clone()),
        state.users.count(&caller, query.clone()),
    )?;
    let body = page.items.iter().map(AdminUserJson::new).collect();
    Ok((paging::headers(page.next.as_ref(), total), Json(body)))
}

async fn one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<AdminUserJson>> {
    let user = state.users.get(&caller, user_id(&raw)?).await?;
    Ok(Json(AdminUserJson::new(&user)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchBody {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<PatchBody>,
) -> ApiResult<Json<AdminUserJson>> {
    let patch = ProfilePatch {
        email: body
            .email
            .as_deref()
            .map(|e| Email::parse("email", e))
            .transpose()?,
        first_name: body
            .first_name
            .as_deref()
            .map(|n| parse_text("firstName", n, 128))
            .transpose()?,
        last_name: body
            .last_name
            .as_deref()
            .map(|n| parse_text("lastName", n, 128))
            .transpose()?,
        description: None,
    };
    let user = state
        .users
        .update_profile(&caller, user_id(&raw)?, patch)
        .await?;
    Ok(Json(AdminUserJson::new(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesBody {
    roles: Vec<String>,
}

/// Changing the role set revokes every PAT of the user, in the same transaction.
async fn set_roles(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<RolesBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let roles = RoleSet::parse_all("roles", &body.roles)?;
    let (user, revoked) = state
        .users
        .set_roles(&caller, user_id(&raw)?, roles)
        .await?;
    Ok(Json(
        json!({ "user": AdminUserJson::new(&user), "revokedPats": revoked }),
    ))
}

async fn deactivate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<AdminUserJson>> {
    let user = state
        .users
        .set_active(&caller, user_id(&raw)?, false)
        .await?;
    Ok(Json(AdminUserJson::new(&user)))
}

async fn activate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<AdminUserJson>> {
    let user = state
        .users
        .set_active(&caller, user_id(&raw)?, true)
        .await?;
    Ok(Json(AdminUserJson::new(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
}

async fn set_password(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    state
        .users
        .set_password(&caller, user_id(&raw)?, body.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
