//! User administration. Every handler requires SysAdmin (checked by the domain policy).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::authn::Caller;
use tessera_core::ids::UserId;
use tessera_core::model::User;
use tessera_core::names::{Email, parse_display_name};
use tessera_core::roles::RoleSet;
use tessera_core::services::users::NewUser;
use tessera_core::store::{PrincipalQuery, ProfilePatch};
use utoipa::{IntoParams, ToSchema};

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

/// The administrator's view of `users`, each with its identity-provider links.
async fn views(state: &AppState, caller: &Caller, users: &[User]) -> ApiResult<Vec<AdminUserJson>> {
    let links = state.users.federated_identities(caller, users).await?;
    Ok(users
        .iter()
        .zip(&links)
        .map(|(user, links)| AdminUserJson::new(user, links))
        .collect())
}

/// The administrator's view of one user (see [`views`]).
async fn view(state: &AppState, caller: &Caller, user: &User) -> ApiResult<AdminUserJson> {
    let links = state
        .users
        .federated_identities(caller, std::slice::from_ref(user))
        .await?;
    Ok(AdminUserJson::new(
        user,
        links.first().map_or(&[], Vec::as_slice),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = NewUserBody)]
struct CreateBody {
    #[schema(schema_with = super::openapi::rules::user_name)]
    user_name: String,
    #[schema(schema_with = super::openapi::rules::email)]
    email: String,
    #[schema(schema_with = super::openapi::rules::person_name)]
    first_name: Option<String>,
    #[schema(schema_with = super::openapi::rules::person_name)]
    last_name: Option<String>,
    /// Role names, e.g. `Practitioner`, `SysAdmin`.
    #[schema(schema_with = super::openapi::rules::roles)]
    roles: Option<Vec<String>>,
    /// For the web UI's login; absent: the user cannot log in with a password.
    #[schema(schema_with = super::openapi::rules::password)]
    password: Option<String>,
}

#[utoipa::path(post, path = "/api/admin/v1/users", tag = "admin", operation_id = "createUser",
    request_body = CreateBody,
    responses((status = 201, description = "The new user", body = AdminUserJson)))]
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
    Ok((
        StatusCode::CREATED,
        Json(view(&state, &caller, &user).await?),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Part of a user name, name or email.
    search: Option<String>,
    /// The `X-Next-Cursor` of the previous page; not with `offset`.
    cursor: Option<String>,
    #[serde(default)]
    offset: u32,
    /// From 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A page of users by user name, with the paging headers of `crate::paging`.
#[utoipa::path(get, path = "/api/admin/v1/users", tag = "admin", operation_id = "listAdminUsers",
    params(ListQuery),
    responses((status = 200, description = "Users", body = Vec<AdminUserJson>,
        headers(("X-Next-Cursor" = String, description = "Opaque cursor of the next page (absent on the last)"), ("X-Total-Count" = u64, description = "Matching rows, exact up to 1,000; a search of 3 or more characters counts the matches among at most 1,000 candidates of its index (rows holding three of its trigrams): past them, a lower bound"), ("X-Total-Is-Estimate" = bool, description = "true when X-Total-Count is a lower bound")))))]
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<paging::Listing<AdminUserJson>> {
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
    let body = views(&state, &caller, &page.items).await?;
    Ok((paging::page_headers(&page, total, query.offset), Json(body)))
}

#[utoipa::path(get, path = "/api/admin/v1/users/{userId}", tag = "admin", operation_id = "getUser",
    params(("userId" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user", body = AdminUserJson)))]
async fn one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<AdminUserJson>> {
    let user = state.users.get(&caller, user_id(&raw)?).await?;
    Ok(Json(view(&state, &caller, &user).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UserPatchBody)]
struct PatchBody {
    #[schema(schema_with = super::openapi::rules::email)]
    email: Option<String>,
    #[schema(schema_with = super::openapi::rules::person_name)]
    first_name: Option<String>,
    #[schema(schema_with = super::openapi::rules::person_name)]
    last_name: Option<String>,
}

#[utoipa::path(patch, path = "/api/admin/v1/users/{userId}", tag = "admin", operation_id = "updateUser",
    params(("userId" = String, Path, description = "The user's id")),
    request_body = PatchBody,
    responses((status = 200, description = "The user", body = AdminUserJson)))]
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
            .map(|n| parse_display_name("firstName", n, 128))
            .transpose()?,
        last_name: body
            .last_name
            .as_deref()
            .map(|n| parse_display_name("lastName", n, 128))
            .transpose()?,
        description: None,
    };
    let user = state
        .users
        .update_profile(&caller, user_id(&raw)?, patch)
        .await?;
    Ok(Json(view(&state, &caller, &user).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RolesBody {
    #[schema(schema_with = super::openapi::rules::roles)]
    roles: Vec<String>,
}

/// Changing the role set revokes every PAT of the user, in the same transaction.
#[utoipa::path(put, path = "/api/admin/v1/users/{userId}/roles", tag = "admin", operation_id = "setUserRoles",
    params(("userId" = String, Path, description = "The user's id")),
    request_body = RolesBody,
    responses((status = 200, description = "The user and the number of PATs revoked", body = RolesChangedJson)))]
async fn set_roles(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<RolesBody>,
) -> ApiResult<Json<RolesChangedJson>> {
    let roles = RoleSet::parse_all("roles", &body.roles)?;
    let (user, revoked) = state
        .users
        .set_roles(&caller, user_id(&raw)?, roles)
        .await?;
    Ok(Json(RolesChangedJson {
        user: view(&state, &caller, &user).await?,
        revoked_pats: revoked,
    }))
}

/// The user after a change of roles, and how many of their PATs that revoked.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RolesChangedJson {
    user: AdminUserJson,
    revoked_pats: usize,
}

#[utoipa::path(post, path = "/api/admin/v1/users/{userId}/deactivate", tag = "admin", operation_id = "deactivateUser",
    params(("userId" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user; every credential and session of theirs is invalid", body = AdminUserJson)))]
async fn deactivate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<AdminUserJson>> {
    let user = state
        .users
        .set_active(&caller, user_id(&raw)?, false)
        .await?;
    Ok(Json(view(&state, &caller, &user).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/users/{userId}/activate", tag = "admin", operation_id = "activateUser",
    params(("userId" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user", body = AdminUserJson)))]
async fn activate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<AdminUserJson>> {
    let user = state
        .users
        .set_active(&caller, user_id(&raw)?, true)
        .await?;
    Ok(Json(view(&state, &caller, &user).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    #[schema(schema_with = super::openapi::rules::password)]
    password: String,
}

#[utoipa::path(post, path = "/api/admin/v1/users/{userId}/password", tag = "admin", operation_id = "setUserPassword",
    params(("userId" = String, Path, description = "The user's id")),
    request_body = PasswordBody,
    responses((status = 204, description = "Set")))]
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
