//! The legacy API key (deprecated): regenerate, shown once. Any authenticated person.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::authn::Identity;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/apiKey/v1/regenerate", post(regenerate))
}

/// Any authenticated person. The previous key stops working at once.
#[utoipa::path(post, path = "/api/apiKey/v1/regenerate", tag = "identity", operation_id = "regenerateApiKey",
    responses((status = 201, description = "The new key, shown this once", body = ApiKeyJson)))]
async fn regenerate(
    State(state): State<AppState>,
    Identity(caller): Identity,
) -> ApiResult<(StatusCode, Json<ApiKeyJson>)> {
    let secret = state.api_keys.regenerate(&caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyJson {
            api_key: secret.into_exposed(),
        }),
    ))
}

/// The legacy API key, in the one response that shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ApiKeyJson {
    api_key: String,
}
