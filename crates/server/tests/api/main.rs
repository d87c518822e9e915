//! Integration tests: the real server on a real port, a fresh SQLite file per test, HTTP only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

/// This binary runs the API suite on SQLite; `api_postgres` runs the same modules on PostgreSQL.
pub const BACKEND: helpers::Backend = helpers::Backend::Sqlite;

mod admin_pats;
mod admin_users;
mod api_keys;
mod contract;
mod edge;
mod errors;
mod forward_auth;
mod gateway;
mod gateway_forwarding;
mod gateway_paths;
mod identity;
mod load;
mod local_proxy;
mod local_proxy_boundary;
mod model_apis;
mod model_invocation;
mod model_predictions;
mod model_refusals;
mod model_upstreams;
mod paging;
mod pats;
mod projects;
mod raw_http;
mod realm;
mod realm_derived;
mod refusals;
mod service_accounts;
mod sso;
mod throttle;
mod ui;
mod ui_admin;
mod ui_models;
mod ui_projects;
