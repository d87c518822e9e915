//! PostgreSQL backend: several Tessera nodes share one database.
//!
//! Migrations run at start under sqlx's advisory lock, so nodes starting together do not race.
//! Every connection gets a statement timeout, so that a stuck query fails instead of hanging a
//! request.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, QueryBuilder, Transaction};
use tessera_core::store::StoreResult;

use crate::OpenError;
use crate::rows::{SearchRule, backend, like_pattern, prefix_pattern};
use crate::sqlite::push_principal_recheck;

/// Pool bounds by default: enough for a node's request path and its background writers.
pub const DEFAULT_CONNECTIONS: u32 = 16;
const STATEMENT_TIMEOUT: &str = "5s";
/// How long a request waits for a connection before failing closed with 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `postgres://...` (the database must exist) and runs the migrations.
    pub async fn open(url: &str) -> Result<PgStore, OpenError> {
        PgStore::open_with(url, DEFAULT_CONNECTIONS).await
    }

    /// As [`open`](Self::open), with at most `max_connections` pooled connections (at least 1).
    pub async fn open_with(url: &str, max_connections: u32) -> Result<PgStore, OpenError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| OpenError::Open(e.to_string()))?
            .options([("statement_timeout", STATEMENT_TIMEOUT)])
            .application_name("tessera");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| OpenError::Open(e.to_string()))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| OpenError::Migrate(e.to_string()))?;
        Ok(PgStore { pool })
    }

    /// Appended to the claim's row selection (see `sql/predictions.rs`).
    pub(crate) const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    /// Appended to a selection of one row that is about to be updated.
    pub(crate) const FOR_UPDATE: &'static str = " FOR UPDATE";

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn write_tx(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(backend)
    }
}

/// Searches on PostgreSQL: `pg_trgm` GIN indexes serve substrings, `text_pattern_ops` B-trees
/// serve prefixes, both through LIKE. See [`SearchRule`].
impl PgStore {
    /// The kind column while searching (the planner weighs the search by its statistics).
    pub(crate) const SEARCH_KIND_COLUMN: &'static str = "c.kind";

    pub(crate) fn push_credential_search(
        qb: &mut QueryBuilder<'static, Postgres>,
        rule: &SearchRule,
    ) {
        let like = match rule {
            SearchRule::Substring(text) => like_pattern(text),
            SearchRule::Prefix(text) => prefix_pattern(text),
        };
        qb.push(" AND c.id IN (SELECT id FROM credentials WHERE name LIKE ")
            .push_bind(like.clone())
            .push(" UNION SELECT c2.id FROM credentials c2 WHERE c2.principal_id IN (SELECT p2.id FROM principals p2 WHERE p2.user_name LIKE ")
            .push_bind(like)
            .push("))");
    }

    pub(crate) fn push_principal_search(
        qb: &mut QueryBuilder<'static, Postgres>,
        rule: &SearchRule,
    ) {
        match rule {
            SearchRule::Substring(text) => push_principal_recheck(qb, like_pattern(text)),
            SearchRule::Prefix(text) => {
                qb.push(" AND p.user_name LIKE ")
                    .push_bind(prefix_pattern(text));
            }
        }
    }
}

sql_store!(PgStore, ::sqlx::Postgres, ::sqlx::postgres::PgRow);
