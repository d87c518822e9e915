//! The API suite of `tests/api` on PostgreSQL: the same modules, one fresh database per test.
//! Needs PostgreSQL (TESSERA_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/postgres)
//! and fails, never skips, when it is unreachable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub const BACKEND: helpers::Backend = helpers::Backend::Postgres;

#[path = "../api/browser.rs"]
mod browser;
#[path = "../api/helpers.rs"]
mod helpers;

/// The cases of `tests/api`, found through an inline module whose path is that directory (a
/// file loaded by `#[path]` cannot hold `mod x;` items of its own directory).
#[path = "../api"]
mod api {
    pub mod cases;
}
use api::cases;
