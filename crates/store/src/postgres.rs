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
use crate::retry::RetryPolicy;
use crate::rows::{SearchRule, backend, like_pattern, prefix_pattern, probe_trigrams};
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

    /// Conflicts (serialization failures, deadlocks) are met at once and are cheap to lose:
    /// five runs, pauses from 10 ms doubling up to 200 ms.
    pub(crate) const RETRY: RetryPolicy = RetryPolicy {
        attempts: 5,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(200),
    };

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

    /// The kind column in a substring search of principals (the trigram indexes lead as it is).
    pub(crate) const SEARCH_PRINCIPAL_KIND_COLUMN: &'static str = "p.kind";

    /// The expiry column in the status bound that a cursor makes redundant: PostgreSQL's B-tree
    /// scan starts from the tighter of that bound and the cursor's row value by itself.
    pub(crate) const CURSOR_LED_EXPIRY_COLUMN: &'static str = "c.expires_at";

    /// The visibility column in a user's model API page (PostgreSQL plans it well as it is).
    pub(crate) const PAGE_VISIBILITY_COLUMN: &'static str = "m.visibility";

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

    /// A model API search needs no condition of its own: the trigram indexes of migration
    /// 0015 serve the caller's `lower(…) LIKE` tests.
    pub(crate) fn push_model_api_search(_qb: &mut QueryBuilder<'static, Postgres>, _needle: &str) {}

    /// The candidates of a budgeted model API count (`FROM` onwards, `m` a model API): the
    /// rows whose name or description holds every probed trigram of `needle`, each a LIKE the
    /// trigram indexes serve. Nearly every candidate passes, so a `LIMIT` stops the reading
    /// after that many rows (the search's own LIKE passes few and rechecks every candidate).
    pub(crate) fn push_model_api_candidates(
        qb: &mut QueryBuilder<'static, Postgres>,
        needle: &str,
    ) {
        qb.push("model_apis m WHERE (");
        push_all_trigrams(qb, "lower(m.name)", needle);
        qb.push(" OR ");
        push_all_trigrams(qb, "lower(m.description)", needle);
        qb.push(")");
    }

    /// The candidates of a budgeted principal count (`p`), as [`Self::push_model_api_candidates`].
    pub(crate) fn push_principal_candidates(qb: &mut QueryBuilder<'static, Postgres>, text: &str) {
        qb.push("principals p WHERE (");
        push_all_trigrams(qb, "p.user_name", text);
        for column in [
            "lower(coalesce(p.email, ''))",
            "lower(p.first_name)",
            "lower(p.last_name)",
        ] {
            qb.push(" OR ");
            push_all_trigrams(qb, column, text);
        }
        qb.push(")");
    }

    /// The candidates of a budgeted credential count by name (`c` and its owner `p`).
    pub(crate) fn push_credential_name_candidates(
        qb: &mut QueryBuilder<'static, Postgres>,
        text: &str,
    ) {
        qb.push("credentials c JOIN principals p ON p.id = c.principal_id WHERE ");
        push_all_trigrams(qb, "c.name", text);
    }

    /// The candidates of a budgeted credential count by owner name (`c` and its owner `p`).
    pub(crate) fn push_credential_owner_candidates(
        qb: &mut QueryBuilder<'static, Postgres>,
        text: &str,
    ) {
        qb.push("principals p JOIN credentials c ON c.principal_id = p.id WHERE ");
        push_all_trigrams(qb, "p.user_name", text);
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

/// `(column LIKE '%t%' AND …)` for each probed trigram `t` of `text`.
fn push_all_trigrams(qb: &mut QueryBuilder<'static, Postgres>, column: &str, text: &str) {
    qb.push("(");
    for (i, trigram) in probe_trigrams(text).iter().enumerate() {
        if i > 0 {
            qb.push(" AND ");
        }
        qb.push(format!("{column} LIKE "))
            .push_bind(like_pattern(trigram))
            .push(" ESCAPE '\\'");
    }
    qb.push(")");
}

sql_store!(PgStore, ::sqlx::Postgres, ::sqlx::postgres::PgRow);

#[cfg(test)]
mod tests {
    //! Conflicts on a real database: a write transaction that loses to a concurrent one is run
    //! again from the start, and gives up after `RETRY.attempts` runs.

    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::atomic::{AtomicU32, Ordering};

    use tessera_core::store::StoreError;
    use tessera_testkit::PgDatabase;

    use super::*;

    impl PgStore {
        /// Adds `amount` to the probe row in a REPEATABLE READ transaction (through `write_tx!`,
        /// as the store's writes do). During each of the first `rivals` runs, between this
        /// transaction's read and its write, another transaction adds 1 to the row and commits:
        /// this run's write then fails with a serialization failure (SQLSTATE 40001).
        async fn add_against_rivals(
            &self,
            amount: i64,
            rivals: u32,
            runs: &AtomicU32,
        ) -> StoreResult<i64> {
            write_tx!(self, |tx| {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                let n: i64 = sqlx::query_scalar("SELECT n FROM retry_probe WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
                if runs.fetch_add(1, Ordering::SeqCst) < rivals {
                    sqlx::query("UPDATE retry_probe SET n = n + 1 WHERE id = 1")
                        .execute(self.pool())
                        .await
                        .map_err(backend)?;
                }
                sqlx::query("UPDATE retry_probe SET n = $1 WHERE id = 1")
                    .bind(n + amount)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                Ok(n + amount)
            })
        }
    }

    async fn probe() -> (PgDatabase, PgStore) {
        let db = PgDatabase::create();
        let store = PgStore::open(&db.url)
            .await
            .expect("the test database opens");
        sqlx::query("CREATE TABLE retry_probe (id INT PRIMARY KEY, n BIGINT NOT NULL)")
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query("INSERT INTO retry_probe VALUES (1, 0)")
            .execute(store.pool())
            .await
            .unwrap();
        (db, store)
    }

    async fn stored(store: &PgStore) -> i64 {
        sqlx::query_scalar("SELECT n FROM retry_probe WHERE id = 1")
            .fetch_one(store.pool())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_transaction_that_loses_a_conflict_is_run_again_and_succeeds() {
        let (_db, store) = probe().await;
        let runs = AtomicU32::new(0);
        let written = store.add_against_rivals(10, 1, &runs).await;
        assert_eq!(
            written.as_ref().ok(),
            Some(&11),
            "the second run reads the rival's 1 and adds 10: {written:?}"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2, "one lost run, one won");
        assert_eq!(stored(&store).await, 11, "neither write is lost");
    }

    #[tokio::test]
    async fn a_transaction_that_loses_every_run_gives_up_after_the_bound_as_unavailable() {
        let (_db, store) = probe().await;
        let runs = AtomicU32::new(0);
        let written = store.add_against_rivals(10, u32::MAX, &runs).await;
        assert!(
            matches!(&written, Err(StoreError::Unavailable(detail)) if detail.contains("serialize")),
            "{written:?}"
        );
        assert_eq!(runs.load(Ordering::SeqCst), PgStore::RETRY.attempts);
        assert_eq!(
            stored(&store).await,
            i64::from(PgStore::RETRY.attempts),
            "only the rivals' writes landed"
        );
    }

    /// Migration 0018: users added in bulk go straight into the trigram indexes (no pending
    /// list), so that the planner serves a substring search from them rather than a Seq Scan.
    #[tokio::test]
    async fn users_added_in_bulk_are_searched_through_the_trigram_indexes() {
        let db = PgDatabase::create();
        let store = PgStore::open(&db.url)
            .await
            .expect("the test database opens");
        let options: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname || ':' || coalesce(array_to_string(c.reloptions, ','), '')
             FROM pg_class c WHERE c.relname LIKE 'principals\\_%\\_trgm' ORDER BY c.relname",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(
            options,
            [
                "principals_email_trgm:fastupdate=off",
                "principals_first_name_trgm:fastupdate=off",
                "principals_last_name_trgm:fastupdate=off",
                "principals_user_name_trgm:fastupdate=off",
            ]
        );
        sqlx::query(
            "INSERT INTO principals (id, kind, user_name, email, first_name, last_name, status, created_at)
             SELECT 'u' || i, 'user', 'user' || lpad(i::text, 5, '0'), 'user' || lpad(i::text, 5, '0') || '@example.com',
                    'First' || i, 'Last' || i, 'active', 0 FROM generate_series(1, 10000) i",
        )
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query("ANALYZE principals")
            .execute(store.pool())
            .await
            .unwrap();
        let like = "'%er00777%' ESCAPE '\\'";
        let plan: Vec<String> = sqlx::query_scalar(&format!(
            "EXPLAIN SELECT p.id FROM principals p WHERE p.kind = 'user' AND (p.user_name LIKE {like}
             OR lower(coalesce(p.email, '')) LIKE {like} OR lower(p.first_name) LIKE {like}
             OR lower(p.last_name) LIKE {like}) ORDER BY p.user_name, p.id LIMIT 50"
        ))
        .fetch_all(store.pool())
        .await
        .unwrap();
        let plan = plan.join("\n");
        assert!(
            plan.contains("Bitmap Index Scan on principals_user_name_trgm"),
            "{plan}"
        );
        assert!(!plan.contains("Seq Scan"), "{plan}");
    }
}
