//! The API suite of `tests/api` on PostgreSQL: the same modules, one fresh database per test.
//! Needs PostgreSQL (TESSERA_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/postgres)
//! and fails, never skips, when it is unreachable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub const BACKEND: helpers::Backend = helpers::Backend::Postgres;

#[path = "../api/admin_pats.rs"]
mod admin_pats;
#[path = "../api/admin_users.rs"]
mod admin_users;
#[path = "../api/api_keys.rs"]
mod api_keys;
#[path = "../api/contract.rs"]
mod contract;
#[path = "../api/edge.rs"]
mod edge;
#[path = "../api/errors.rs"]
mod errors;
#[path = "../api/forward_auth.rs"]
mod forward_auth;
#[path = "../api/gateway.rs"]
mod gateway;
#[path = "../api/gateway_forwarding.rs"]
mod gateway_forwarding;
#[path = "../api/gateway_paths.rs"]
mod gateway_paths;
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/identity.rs"]
mod identity;
#[path = "../api/load.rs"]
mod load;
#[path = "../api/local_proxy.rs"]
mod local_proxy;
#[path = "../api/local_proxy_boundary.rs"]
mod local_proxy_boundary;
#[path = "../api/model_apis.rs"]
mod model_apis;
#[path = "../api/model_invocation.rs"]
mod model_invocation;
#[path = "../api/model_predictions.rs"]
mod model_predictions;
#[path = "../api/model_refusals.rs"]
mod model_refusals;
#[path = "../api/model_upstreams.rs"]
mod model_upstreams;
#[path = "../api/paging.rs"]
mod paging;
#[path = "../api/pats.rs"]
mod pats;
#[path = "../api/projects.rs"]
mod projects;
#[path = "../api/raw_http.rs"]
mod raw_http;
#[path = "../api/realm.rs"]
mod realm;
#[path = "../api/realm_derived.rs"]
mod realm_derived;
#[path = "../api/refusals.rs"]
mod refusals;
#[path = "../api/service_accounts.rs"]
mod service_accounts;
#[path = "../api/sso.rs"]
mod sso;
#[path = "../api/throttle.rs"]
mod throttle;
#[path = "../api/ui.rs"]
mod ui;
#[path = "../api/ui_admin.rs"]
mod ui_admin;
#[path = "../api/ui_models.rs"]
mod ui_models;
#[path = "../api/ui_projects.rs"]
mod ui_projects;
