//! The management listener (`metrics_listen`): Prometheus metrics and a liveness probe, apart
//! from the public listener so that they are never exposed to API clients (SPEC section 9).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::CONTENT_TYPE;
use crate::state::AppState;

/// `GET /metrics` (OpenMetrics text) and `GET /healthz`; anything else is 404.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// Counters, gauges and histograms with fixed labels only: never a secret or a user.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.render(state.cache.len()),
    )
}
