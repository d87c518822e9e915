//! Tessera's domain: principals, credentials, the verification cache, policy and services.
//!
//! Depends on no web framework and no database driver: storage is reached through the traits
//! of [`store`], implemented in `tessera-store`.

pub mod audit;
pub mod authn;
pub mod cache;
pub mod clock;
pub mod ids;
pub mod invalidation;
pub mod invocation_log;
pub mod model;
pub mod model_apis;
pub mod names;
pub mod paging;
pub mod password;
pub mod policy;
pub mod predictions;
pub mod projects;
pub mod realm;
pub mod refused;
pub mod roles;
pub mod secret;
pub mod services;
pub mod serving_cache;
pub mod sso;
pub mod store;
pub mod throttle;
pub mod upstreams;
pub mod usage;
