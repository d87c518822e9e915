//! SQLite backend (WAL, synchronous=FULL): the embedded default for a single node.
//!
//! Write transactions start with `BEGIN IMMEDIATE` so that two writers never deadlock on a lock
//! upgrade; a busy timeout covers other processes (the CLI) writing to the same file.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tessera_core::store::StoreResult;

use crate::OpenError;
use crate::rows::backend;

/// Pooled connections by default: readers in parallel (WAL), one writer at a time.
pub const DEFAULT_CONNECTIONS: u32 = 8;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens `sqlite://PATH` (creating the file and its folder) and runs the migrations.
    pub async fn open(url: &str) -> Result<SqliteStore, OpenError> {
        SqliteStore::open_with(url, DEFAULT_CONNECTIONS).await
    }

    /// As [`open`](Self::open), with at most `max_connections` pooled connections (at least 1).
    pub async fn open_with(url: &str, max_connections: u32) -> Result<SqliteStore, OpenError> {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| OpenError::Open(format!("{}: {e}", parent.display())))?;
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| OpenError::Open(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(|e| OpenError::Open(e.to_string()))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| OpenError::Migrate(e.to_string()))?;
        Ok(SqliteStore { pool })
    }

    /// Appended to the claim's row selection (see `sql/predictions.rs`).
    pub(crate) const SKIP_LOCKED: &'static str = "";
    /// Appended to a selection of one row that is about to be updated.
    pub(crate) const FOR_UPDATE: &'static str = "";

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn write_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }
}

sql_store!(SqliteStore, ::sqlx::Sqlite, ::sqlx::sqlite::SqliteRow);
