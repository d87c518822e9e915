//! Integration tests: the real server on a real port, a fresh SQLite file per test, HTTP only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
mod helpers;

/// This binary runs the API suite on SQLite; `api_postgres` runs the same modules on PostgreSQL.
pub const BACKEND: helpers::Backend = helpers::Backend::Sqlite;

mod cases;
