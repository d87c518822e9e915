//! Storage backends for Tessera: implementations of `tessera_core::store`'s traits.
//!
//! The backend is chosen once, from the database URL, by [`open`]. SQLite is the embedded
//! default; PostgreSQL serves several nodes sharing one database.

mod rows;
#[macro_use]
mod retry;
#[macro_use]
mod sql;
pub mod notify;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use tessera_core::invalidation::{InvalidationBus, LocalOnly};
use tessera_core::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://...")]
    Unsupported(String),
    #[error("could not open the database: {0}")]
    Open(String),
    #[error("could not migrate the database: {0}")]
    Migrate(String),
}

/// An opened database: the store, how to tell other nodes of changes, and (when nodes share
/// the database) the stream of what they tell this one.
pub struct Database {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn InvalidationBus>,
    /// `Some` when several nodes may share this database.
    pub notifications: Option<notify::PgNotifications>,
}

impl Database {
    pub fn is_shared(&self) -> bool {
        self.notifications.is_some()
    }
}

/// Opens (creating if needed) and migrates the database named by `url`, with the backend's
/// default pool size.
pub async fn open(url: &str) -> Result<Database, OpenError> {
    open_with(url, None).await
}

/// The pool size a backend uses unless told otherwise: 8 for SQLite, 16 for PostgreSQL.
pub fn default_connections(url: &str) -> u32 {
    if url.starts_with("sqlite:") {
        sqlite::DEFAULT_CONNECTIONS
    } else {
        postgres::DEFAULT_CONNECTIONS
    }
}

/// As [`open`], with at most `max_connections` pooled connections (`None`: the default).
pub async fn open_with(url: &str, max_connections: Option<u32>) -> Result<Database, OpenError> {
    let connections = max_connections.unwrap_or_else(|| default_connections(url));
    if url.starts_with("sqlite:") {
        Ok(Database {
            store: Arc::new(sqlite::SqliteStore::open_with(url, connections).await?),
            bus: Arc::new(LocalOnly),
            notifications: None,
        })
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PgStore::open_with(url, connections).await?;
        Ok(Database {
            notifications: Some(notify::PgNotifications::new(store.pool().clone())),
            bus: Arc::new(notify::PgBus::new(store.pool().clone())),
            store: Arc::new(store),
        })
    } else {
        Err(OpenError::Unsupported(redact(url)))
    }
}

/// A URL with any password removed, fit for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}
