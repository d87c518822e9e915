//! Domino identity endpoints: `/v4/users/self`, `/v4/users`, `/v4/auth/principal`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tessera_core::names::UserName;
use tessera_core::policy;
use tessera_core::store::PrincipalQuery;

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
async fn me(Identity(caller): Identity) -> Json<DominoUserJson> {
    Json(DominoUserJson::new(caller.principal()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UsersQuery {
    user_name: Option<String>,
    search: Option<String>,
    #[serde(default)]
    offset: u32,
    limit: Option<u32>,
}

/// Any authenticated principal (the user directory, as in Domino).
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
async fn principal(MaybeIdentity(caller): MaybeIdentity) -> Json<serde_json::Value> {
    Json(match caller {
        Some(caller) => {
            let user = caller.principal();
            json!({
                "isAnonymous": false,
                "isAdmin": policy::is_admin(user),
                "canonicalId": user.id.to_string(),
                "canonicalName": user.user_name.to_string(),
                "allowedSystemOperations": [],
            })
        }
        None => json!({
            "isAnonymous": true,
            "isAdmin": false,
            "canonicalId": null,
            "canonicalName": null,
            "allowedSystemOperations": [],
        }),
    })
}
