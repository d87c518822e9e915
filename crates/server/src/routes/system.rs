//! Health, readiness, version and the small documentation page the deprecation link points to.
//! Public: no credential needed.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tessera_core::store::PrincipalQuery;
use utoipa::ToSchema;

use crate::state::AppState;

/// The Domino API level Tessera speaks; Domino clients refuse servers below 4.1.0.
pub const DOMINO_API_LEVEL: &str = "6.1.0";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/version", get(version))
        .route("/docs/personal-access-tokens", get(pat_docs))
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", operation_id = "healthz", security(()),
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
#[utoipa::path(get, path = "/readyz", tag = "system", operation_id = "readyz", security(()),
    responses((status = 200, description = "`ready`", content_type = "text/plain", body = String)))]
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

/// Public (Domino): the API level Domino clients check, and Tessera's own version.
#[utoipa::path(get, path = "/version", tag = "system", operation_id = "version", security(()),
    responses((status = 200, description = "Versions", body = VersionJson)))]
async fn version() -> Json<VersionJson> {
    Json(VersionJson {
        version: DOMINO_API_LEVEL,
        tessera_version: env!("CARGO_PKG_VERSION"),
    })
}

/// `GET /version`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VersionInfo)]
struct VersionJson {
    /// The Domino API level, e.g. `6.1.0`.
    #[schema(value_type = String)]
    version: &'static str,
    #[schema(value_type = String)]
    tessera_version: &'static str,
}

/// Public: the page the `Link` header of API-key responses points to.
#[utoipa::path(get, path = "/docs/personal-access-tokens", tag = "system", operation_id = "patDocs", security(()),
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String)))]
async fn pat_docs() -> impl axum::response::IntoResponse {
    // A static page with neither style nor script: nothing is allowed.
    let csp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    (
        super::openapi::page_headers(csp),
        Html(include_str!("pat_docs.html")),
    )
}
