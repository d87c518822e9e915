//! The web UI under `/ui/`: server-rendered pages (minijinja templates compiled into the
//! binary), a small stylesheet and script, sessions in a cookie, CSRF tokens on every form.
//! Pages call the same services as the JSON API; nothing here decides access.

mod account;
mod admin;
mod admin_tokens;
mod forms;
mod model_settings;
mod models;
mod pager;
mod projects;
pub mod query;
pub mod render;
pub mod session;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::Value;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

pub use render::Templates;

pub fn routes() -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(|| async { Redirect::to("/ui/account") }))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .merge(crate::sso::routes())
        .route("/account", get(account::show))
        .route("/account/profile", post(account::save_profile))
        .route("/account/tokens", post(account::generate))
        .route("/account/tokens/revoke-all", post(account::revoke_all))
        .route("/account/tokens/delete-all", post(account::delete_all))
        .route("/account/tokens/{id}/revoke", post(account::revoke))
        .route("/account/tokens/{id}/delete", post(account::delete))
        .route(
            "/account/api-key",
            get(account::api_key).post(account::regenerate_api_key),
        )
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/{id}/roles", post(admin::set_roles))
        .route("/admin/users/{id}/deactivate", post(admin::deactivate))
        .route("/admin/users/{id}/activate", post(admin::activate))
        .route(
            "/admin/service-accounts",
            get(admin::service_accounts).post(admin::create_service_account),
        )
        .route(
            "/admin/service-accounts/{id}/tokens",
            post(admin::create_account_token),
        )
        .route(
            "/admin/service-accounts/{id}/tokens/{name}/revoke",
            post(admin::revoke_account_token),
        )
        .route("/admin/tokens", get(admin_tokens::tokens))
        .route("/admin/tokens/bulk", post(admin_tokens::bulk))
        .route("/admin/audit", get(admin_tokens::audit))
        .route("/projects", get(projects::list).post(projects::create))
        .route("/projects/{id}", get(projects::show))
        .route(
            "/projects/{id}/collaborators",
            post(projects::add_collaborator),
        )
        .route(
            "/projects/{id}/collaborators/{user}/remove",
            post(projects::remove_collaborator),
        )
        .route("/projects/{id}/models", post(projects::create_model))
        .route("/models", get(models::list))
        .route("/models/{id}", get(models::show))
        .route("/models/{id}/versions", post(models::deploy))
        .route("/models/{id}/versions/{n}/activate", post(models::activate))
        .route("/models/{id}/settings", get(model_settings::show))
        .route("/models/{id}/visibility", post(model_settings::visibility))
        .route(
            "/models/{id}/authorization",
            post(model_settings::authorization),
        )
        .route("/models/{id}/transfer", post(model_settings::transfer))
        .route(
            "/models/{id}/collaborators",
            post(model_settings::add_collaborator),
        )
        .route(
            "/models/{id}/collaborators/{c}/role",
            post(model_settings::collaborator_role),
        )
        .route(
            "/models/{id}/collaborators/{c}/remove",
            post(model_settings::remove_collaborator),
        )
        .route("/models/{id}/tokens", post(model_settings::create_token))
        .route(
            "/models/{id}/tokens/{t}/reveal",
            post(model_settings::reveal_token),
        )
        .route(
            "/models/{id}/tokens/{t}/revoke",
            post(model_settings::revoke_token),
        )
        .route(
            "/assets/app.css",
            get(|| asset(CSS, "text/css; charset=utf-8")),
        )
        .route(
            "/assets/app.js",
            get(|| asset(JS, "text/javascript; charset=utf-8")),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    // A person who opens the server's address lands on the UI: the account page, which sends
    // them to the login page when they are not signed in (SPEC section 7).
    let to_ui = || async { Redirect::to("/ui/account") };
    let mut web = Router::new()
        .route("/", get(to_ui))
        .route("/ui/", get(to_ui))
        .nest("/ui", pages);
    for (name, value) in PAGE_HEADERS {
        web = web.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    // Pages show secrets once; no cache may keep them (assets set their own).
    web.layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
}

/// The headers of every page: no framing, the CSP below, no sniffing, no referrer elsewhere.
const PAGE_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CONTENT_SECURITY_POLICY, CSP),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
];

/// Whether a request path (as received, before it is made canonical) is the web UI's: `/`,
/// `/ui` and everything under `/ui/`. Its refusals are pages, not the API's JSON.
pub fn is_ui_path(raw_path: &str) -> bool {
    raw_path == "/" || raw_path == "/ui" || raw_path.starts_with("/ui/")
}

/// The UI's error page for a request refused before any route was chosen (a path that cannot
/// be made canonical), with the headers every page carries.
pub fn refused_page(state: &AppState, status: StatusCode, message: &str) -> Response {
    let mut response = state.templates.error(status, message, Value::UNDEFINED);
    let headers = response.headers_mut();
    for (name, value) in PAGE_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Only Tessera's own stylesheet and script, no framing, forms posted only to Tessera.
const CSP: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

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

/// A method a page does not take (found by the third review of #17: `POST` on the SSO callback
/// answered the API's JSON): the UI's 405 page. Axum keeps the route's `Allow` header.
async fn method_not_allowed(
    axum::extract::State(state): axum::extract::State<AppState>,
    method: axum::http::Method,
) -> Response {
    state.templates.error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("This page cannot be opened with {method}."),
        Value::UNDEFINED,
    )
}

async fn not_found(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    state.templates.error(
        StatusCode::NOT_FOUND,
        "There is no such page.",
        Value::UNDEFINED,
    )
}
