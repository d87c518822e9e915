//! Health, readiness, version and the small documentation page the deprecation link points to.
//! Public: no credential needed.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tessera_core::store::PrincipalQuery;

use crate::state::AppState;

/// The Domino API level Tessera speaks; Domino clients refuse servers below 4.1.0.
pub const DOMINO_API_LEVEL: &str = "6.1.0";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/version", get(version))
        .route("/docs/personal-access-tokens", get(pat_docs))
}

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let probe = PrincipalQuery {
        limit: 1,
        ..PrincipalQuery::default()
    };
    match state.store.list_principals(&probe).await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn version() -> Json<serde_json::Value> {
    Json(json!({
        "version": DOMINO_API_LEVEL,
        "tesseraVersion": env!("CARGO_PKG_VERSION"),
    }))
}

async fn pat_docs() -> Html<&'static str> {
    Html(include_str!("pat_docs.html"))
}
