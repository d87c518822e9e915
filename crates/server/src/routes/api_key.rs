//! The legacy API key (deprecated): regenerate, shown once. Any authenticated person.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::authn::Identity;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/apiKey/v1/regenerate", post(regenerate))
}

async fn regenerate(
    State(state): State<AppState>,
    Identity(caller): Identity,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let secret = state.api_keys.regenerate(&caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "apiKey": secret.into_exposed() })),
    ))
}
