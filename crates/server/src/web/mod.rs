//! The web UI under `/ui/`: server-rendered pages (minijinja templates compiled into the
//! binary), a small stylesheet and script, sessions in a cookie, CSRF tokens on every form.
//! Pages call the same services as the JSON API; nothing here decides access.

mod account;
pub mod render;
pub mod session;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::Value;

use crate::state::AppState;

pub use render::Templates;

pub fn routes() -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(|| async { Redirect::to("/ui/account") }))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/account", get(account::show))
        .route("/account/tokens", post(account::generate))
        .route("/account/tokens/revoke-all", post(account::revoke_all))
        .route("/account/tokens/delete-all", post(account::delete_all))
        .route("/account/tokens/{id}/revoke", post(account::revoke))
        .route("/account/tokens/{id}/delete", post(account::delete))
        .route(
            "/account/api-key",
            get(account::api_key).post(account::regenerate_api_key),
        )
        .route(
            "/assets/app.css",
            get(|| asset(CSS, "text/css; charset=utf-8")),
        )
        .route(
            "/assets/app.js",
            get(|| asset(JS, "text/javascript; charset=utf-8")),
        )
        .fallback(not_found);
    Router::new().nest("/ui", pages)
}

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

async fn not_found(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    state.templates.error(
        StatusCode::NOT_FOUND,
        "There is no such page.",
        Value::UNDEFINED,
    )
}
