//! Domino identity endpoints: `/v4/users/self`, `/v4/users`, `/v4/auth/principal`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::names::UserName;
use tessera_core::policy;
use tessera_core::store::PrincipalQuery;
use utoipa::{IntoParams, ToSchema};

use crate::authn::{Identity, MaybeIdentity};
use crate::error::ApiResult;
use crate::extract::{AppQuery, limit};
use crate::state::AppState;
use crate::wire::DominoUserJson;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v4/users/self", get(me))
        .route("/v4/users", get(users))
        .route("/v4/auth/principal", get(principal))
}

/// Any authenticated principal.
#[utoipa::path(get, path = "/v4/users/self", tag = "identity", operation_id = "currentUser",
    responses((status = 200, description = "The caller", body = DominoUserJson)))]
async fn me(Identity(caller): Identity) -> Json<DominoUserJson> {
    Json(DominoUserJson::new(caller.principal()))
}

/// Domino path: parameters it does not know are ignored.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct UsersQuery {
    /// Exactly this user name.
    #[param(schema_with = super::openapi::rules::user_name)]
    user_name: Option<String>,
    /// Part of a user name, name or email.
    search: Option<String>,
    #[serde(default)]
    offset: u32,
    /// From 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Any authenticated principal (the user directory, as in Domino).
#[utoipa::path(get, path = "/v4/users", tag = "identity", operation_id = "listUsers",
    params(UsersQuery),
    responses((status = 200, description = "Users", body = Vec<DominoUserJson>)))]
async fn users(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<UsersQuery>,
) -> ApiResult<Json<Vec<DominoUserJson>>> {
    let exact = q
        .user_name
        .as_deref()
        .map(|n| UserName::parse("userName", n))
        .transpose()?;
    let query = PrincipalQuery {
        kind: None,
        search: exact.as_ref().map(|n| n.to_string()).or(q.search),
        after: None,
        offset: q.offset,
        limit: limit(q.limit)?,
    };
    let users = state.users.directory(&caller, query).await?;
    Ok(Json(
        users
            .iter()
            .filter(|u| exact.as_ref().is_none_or(|n| *n == u.user_name))
            .map(DominoUserJson::new)
            .collect(),
    ))
}

/// Public: answers 200 with `isAnonymous: true` when no valid credential came, as Domino does.
#[utoipa::path(get, path = "/v4/auth/principal", tag = "identity", operation_id = "principal",
    security((), ("bearer" = []), ("apiKey" = [])),
    responses((status = 200, description = "The caller, or `isAnonymous: true`", body = PrincipalJson)))]
async fn principal(MaybeIdentity(caller): MaybeIdentity) -> Json<PrincipalJson> {
    Json(match caller {
        Some(caller) => {
            let user = caller.principal();
            PrincipalJson {
                is_anonymous: false,
                is_admin: policy::is_admin(user),
                canonical_id: Some(user.id.to_string()),
                canonical_name: Some(user.user_name.to_string()),
                allowed_system_operations: Vec::new(),
            }
        }
        None => PrincipalJson {
            is_anonymous: true,
            is_admin: false,
            canonical_id: None,
            canonical_name: None,
            allowed_system_operations: Vec::new(),
        },
    })
}

/// Domino's principal: `canonicalId` and `canonicalName` are null for an anonymous caller.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PrincipalJson {
    is_anonymous: bool,
    is_admin: bool,
    canonical_id: Option<String>,
    canonical_name: Option<String>,
    allowed_system_operations: Vec<String>,
}
