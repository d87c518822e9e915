//! A fresh PostgreSQL database per test, made and dropped on the administrative connection.

use sqlx::Row;

/// The administrative connection (`TESSERA_TEST_POSTGRES`, by default
/// `postgres://postgres@127.0.0.1:5432/postgres`) on which test databases are made.
pub fn postgres_admin_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Runs one SQL statement on the administrative connection and returns the first column of each
/// row, as text. Runs on a runtime of its own on another thread, so it can be called from sync
/// code, from async tests and from `Drop`.
///
/// # Panics
/// When PostgreSQL is unreachable (the suites fail, never skip) or the statement fails.
pub fn admin_sql(sql: &str) -> Vec<String> {
    let sql = sql.to_string();
    let outcome = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the administrative connection");
        runtime.block_on(async {
            let admin = postgres_admin_url();
            let pool = sqlx::PgPool::connect(&admin).await.map_err(|e| {
                format!("PostgreSQL is unreachable at {admin} (set TESSERA_TEST_POSTGRES): {e}")
            })?;
            let rows = sqlx::query(&sql)
                .fetch_all(&pool)
                .await
                .map_err(|e| format!("{sql}: {e}"));
            pool.close().await;
            Ok::<_, String>(
                rows?
                    .iter()
                    .filter_map(|r| r.try_get::<Option<String>, _>(0).ok().flatten())
                    .collect(),
            )
        })
    })
    .join()
    .expect("the administrative connection's thread");
    outcome.unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh PostgreSQL database for one test, dropped (with its connections) with the guard.
pub struct PgDatabase {
    /// The database's name, `tessera_test_<uuid>`.
    pub name: String,
    /// Its connection URL, on the administrative connection's server.
    pub url: String,
}

impl PgDatabase {
    /// Creates the database. Blocking for a few milliseconds; fine from async tests.
    ///
    /// # Panics
    /// When PostgreSQL is unreachable.
    pub fn create() -> PgDatabase {
        let name = format!("tessera_test_{}", uuid::Uuid::new_v4().simple());
        admin_sql(&format!("CREATE DATABASE \"{name}\""));
        let admin = postgres_admin_url();
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin);
        PgDatabase {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let _ = std::panic::catch_unwind(|| admin_sql(&sql));
    }
}
