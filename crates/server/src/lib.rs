//! Tessera's HTTP face: configuration, start-up, authentication at the edge, the error
//! envelope and the routes. Business rules live in `tessera-core`; this crate only translates.

pub mod authn;
pub mod client_addr;
pub mod config;
pub mod config_env;
mod config_gateway;
pub mod envelope;
pub mod error;
pub mod extract;
mod front;
pub mod gateway;
mod idle;
pub mod listener;
pub mod load;
pub mod local_proxy;
pub mod metrics;
pub mod model_client;
pub mod paging;
mod per_core;
mod predictions_worker;
pub(crate) mod routes;
pub mod runtime_mode;
mod secret_file;
pub mod sso;
pub mod startup;
pub mod state;
pub mod upstream_client;
pub mod web;
pub mod wire;

pub use config::{Config, Overrides};
pub use startup::{Application, domain_context, operator_context, shutdown_signal, start_realm};
