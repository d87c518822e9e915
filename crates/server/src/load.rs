//! Load shedding: past a concurrency limit a request is answered 503 with `Retry-After` at once,
//! never queued until its client gives up (issue #19).
//!
//! Two limits, both counted in requests in progress (`[limits]`):
//! - `concurrency`: every request but the probes (`/healthz`, `/readyz`), which keep answering
//!   whatever the load;
//! - `interactive_concurrency`: administrative browsing — the `GET`s that list or page through
//!   principals, tokens, audit events, organizations, projects and model APIs, in the API and
//!   the web UI. It is kept below the database pool (by default half of it), so that however
//!   many administrators browse at once, slow listings never hold every connection: a PAT's
//!   first use, its creation and its revocation always find one. Writes (revocations included)
//!   and credential verification are never interactive.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::state::AppState;

/// The `Retry-After` of a shed request, in seconds.
pub const RETRY_AFTER_SECS: u16 = 1;

/// Paths answered whatever the load: the liveness and readiness probes.
const PROBES: [&str; 2] = ["/healthz", "/readyz"];

/// Path prefixes (whole segments) whose `GET`s are administrative browsing.
const INTERACTIVE: [&str; 10] = [
    "/api/pat/v1/admin",
    "/api/admin/v1",
    "/api/serviceAccounts/v1",
    "/api/organizations/v1",
    "/api/modelServing/v1/modelApis",
    "/v4/gateway/projects",
    "/ui/admin",
    "/ui/projects",
    "/ui/models",
    // Exact paths: the user directory (not `/v4/users/self`).
    "=/v4/users",
];

/// The permits of both limits; one per application.
pub struct Shedder {
    all: Arc<Semaphore>,
    interactive: Arc<Semaphore>,
}

impl Shedder {
    /// At most `concurrency` requests in progress, of which at most `interactive` browsing.
    pub fn new(concurrency: usize, interactive: usize) -> Shedder {
        Shedder {
            all: Arc::new(Semaphore::new(concurrency.max(1))),
            interactive: Arc::new(Semaphore::new(interactive.max(1))),
        }
    }
}

/// Whether a request is administrative browsing (see the module's documentation). `path` is
/// the canonical path (this runs after path normalisation).
pub fn is_interactive(method: &Method, path: &str) -> bool {
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    INTERACTIVE.iter().any(|p| match p.strip_prefix('=') {
        Some(exact) => path == exact,
        None => path
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
    })
}

/// The outer limit, around `next`: every request but the probes takes a permit of
/// `concurrency` for as long as `next` runs, or is shed (503 with `Retry-After`).
pub async fn around_all<F, Fut>(state: &AppState, request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    if PROBES.contains(&request.uri().path()) {
        return next(request).await;
    }
    let Ok(_permit) = state.shedder.all.clone().try_acquire_owned() else {
        state.metrics.shed();
        return ApiError::Overloaded.into_response();
    };
    next(request).await
}

/// Inner middleware (after path normalisation): browsing takes a permit of
/// `interactive_concurrency` too, or is shed.
pub async fn interactive(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !is_interactive(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let Ok(_permit) = state.shedder.interactive.clone().try_acquire_owned() else {
        state.metrics.shed();
        return ApiError::Overloaded.into_response();
    };
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_are_interactive_and_verification_and_writes_are_not() {
        for path in [
            "/api/pat/v1/admin/tokens",
            "/api/admin/v1/users",
            "/api/admin/v1/audit",
            "/api/serviceAccounts/v1/serviceAccounts",
            "/api/organizations/v1/organizations",
            "/api/modelServing/v1/modelApis",
            "/v4/users",
            "/ui/admin/tokens",
            "/ui/admin",
        ] {
            assert!(is_interactive(&Method::GET, path), "{path}");
        }
        for path in [
            "/v4/users/self",
            "/api/pat/v1/tokens",
            "/auth/verify/api/x",
            "/healthz",
            "/api/pat/v1/administrator",
            "/ui/account",
        ] {
            assert!(!is_interactive(&Method::GET, path), "{path}");
        }
        assert!(!is_interactive(
            &Method::POST,
            "/api/pat/v1/admin/tokens/invalidate"
        ));
        assert!(!is_interactive(
            &Method::DELETE,
            "/api/pat/v1/admin/tokens/x"
        ));
    }
}
