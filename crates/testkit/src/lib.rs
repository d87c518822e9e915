//! What Tessera's test suites share: a fresh PostgreSQL database per test ([`PgDatabase`]) and
//! the `TEST_LOG` switch ([`init_test_log`]) that shows the server's log, so that a 500 in a test
//! comes with its cause, and the Node.js packages of `e2e/` ([`e2e_packages`]).
//!
//! Test code: it panics with a message naming what failed instead of returning errors.

#![allow(clippy::panic, clippy::expect_used)]

mod log;
mod node;
mod postgres;

pub use log::{child_log_filter, init_test_log};
pub use node::e2e_packages;
pub use postgres::{PgDatabase, admin_sql, postgres_admin_url};
