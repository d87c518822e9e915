//! The router: every path of the API, with the layers every request passes through.

mod admin_pats;
mod admin_realm;
mod admin_users;
mod api_key;
mod audit;
mod forward_auth;
mod identity;
pub(crate) mod invoke;
pub mod management;
mod model_apis;
mod model_serving;
mod openapi;
mod organizations;
mod pats;
mod predictions;
mod projects;
mod realm;
mod service_accounts;
mod system;

pub use forward_auth::PREFIX as FORWARD_AUTH_PREFIX;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use tower_http::timeout::TimeoutLayer;

use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;
use crate::{authn, load};

/// The routes behind the front (`front`): every path of the API, the realm, the web UI and
/// model invocation, with the layers of each group. The front runs the layers every request
/// passes (client address, request id and envelope, load shedding, canonical paths) before it,
/// and serves the gateway routes and plain sync invocations itself.
pub fn router(state: AppState, config: &Config) -> Router {
    // Tessera's own API: bounded bodies and a request timeout.
    let api = Router::new()
        .merge(system::routes())
        .merge(openapi::routes())
        .merge(identity::routes())
        .merge(pats::routes())
        .merge(admin_users::routes())
        .merge(admin_pats::routes())
        .merge(service_accounts::routes())
        .merge(api_key::routes())
        .merge(audit::routes())
        .merge(realm::routes())
        .merge(forward_auth::routes())
        .merge(admin_realm::routes())
        .merge(organizations::routes())
        .merge(projects::routes())
        .merge(model_apis::routes())
        .merge(model_serving::routes())
        // Inside the router, where the matched route is known: the document decides which
        // query parameters a strict operation takes.
        .layer(middleware::from_fn(openapi::tolerance::layer))
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ));
    let authenticated = Router::new()
        .merge(api)
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(middleware::from_fn_with_state(state.clone(), authn::layer));
    // Model invocation carries the model's own credentials, checked by the model serving service.
    let invocation =
        invoke::routes(config.body_limit).merge(predictions::routes(config.body_limit));
    // The web UI carries its own session cookie; bounded bodies like the API.
    let web = crate::web::routes()
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ));
    Router::new()
        .merge(authenticated)
        .merge(invocation)
        .merge(web)
        // Browsing is limited after paths are made canonical, so that no spelling evades it.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            load::interactive,
        ))
        .with_state(state)
}

/// Parses an id from the path; a malformed id is a 404 like an unknown one.
fn path_id<T>(raw: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<T, ApiError> {
    parse(raw).ok_or_else(|| ApiError::NotFound(format!("{what} not found")))
}
