//! SQLite backend (WAL, synchronous=FULL): the embedded default for a single node.
//!
//! Write transactions start with `BEGIN IMMEDIATE` so that two writers never deadlock on a lock
//! upgrade; a busy timeout covers other processes (the CLI) writing to the same file.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqlitePool, Transaction};
use tessera_core::store::StoreResult;

use crate::OpenError;
use crate::retry::RetryPolicy;
use crate::rows::{SearchRule, backend, fts_all, fts_phrase, like_pattern, probe_trigrams};

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

    /// A busy database has already been waited for (the busy timeout) before it is reported:
    /// three runs, pauses from 10 ms doubling up to 100 ms.
    pub(crate) const RETRY: RetryPolicy = RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(100),
    };

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

/// Searches on SQLite: FTS5 trigram tables for substrings (each hit re-checked against the row,
/// so that a stale index entry can only hide a row, never show a wrong one), B-tree ranges for
/// prefixes. See [`SearchRule`]. An FTS row's rowid is its table row's `search_key` (migration
/// 0017), never the table's own rowid, which VACUUM or a restored dump may renumber.
impl SqliteStore {
    /// The kind column while searching: `+` keeps SQLite from walking the kind's ordered index
    /// (and probing the search for every row) instead of starting from the search's matches.
    pub(crate) const SEARCH_KIND_COLUMN: &'static str = "+c.kind";

    /// The kind column in a substring search of principals: `+` keeps SQLite from walking
    /// `principals_by_kind` in name order and probing the FTS matches for every user (6.8 ms at
    /// 10,000 users, growing with them) instead of reading the matches (0.03 ms) and sorting
    /// them (issue 19).
    pub(crate) const SEARCH_PRINCIPAL_KIND_COLUMN: &'static str = "+p.kind";

    /// The expiry column in the status bound that a cursor makes redundant (`Expired`'s
    /// `expires_at <= now`, `ExpiringSoon`'s `expires_at > now`): `+` keeps SQLite from seeking
    /// on that bound and stepping over every row before the cursor (a deep page read as many
    /// index entries as its depth), so that the cursor's row value is where the range starts.
    pub(crate) const CURSOR_LED_EXPIRY_COLUMN: &'static str = "+c.expires_at";

    /// The visibility column in a user's model API page: `+` keeps SQLite from reading every
    /// public row through `model_apis_by_visibility` (an OR of index seeks, then a sort)
    /// instead of walking the name order and stopping after a page.
    pub(crate) const PAGE_VISIBILITY_COLUMN: &'static str = "+m.visibility";

    pub(crate) fn push_credential_search(
        qb: &mut QueryBuilder<'static, Sqlite>,
        rule: &SearchRule,
    ) {
        match rule {
            SearchRule::Substring(text) => {
                let like = like_pattern(text);
                qb.push(" AND c.rowid IN (SELECT c1.rowid FROM credentials c1 WHERE c1.search_key IN (SELECT rowid FROM credentials_name_fts WHERE credentials_name_fts MATCH ")
                    .push_bind(fts_phrase(text))
                    .push(") UNION SELECT c2.rowid FROM credentials c2 WHERE c2.principal_id IN (SELECT p2.id FROM principals p2 WHERE p2.search_key IN (SELECT rowid FROM principals_fts WHERE principals_fts MATCH ")
                    .push_bind(format!("user_name : {}", fts_phrase(text)))
                    .push(")))");
                qb.push(" AND (c.name LIKE ")
                    .push_bind(like.clone())
                    .push(" ESCAPE '\\'");
                qb.push(" OR p.user_name LIKE ")
                    .push_bind(like)
                    .push(" ESCAPE '\\')");
            }
            SearchRule::Prefix(text) => {
                let high = format!("{text}\u{10FFFF}");
                qb.push(" AND c.rowid IN (SELECT rowid FROM credentials WHERE name >= ")
                    .push_bind(text.clone())
                    .push(" AND name < ")
                    .push_bind(high.clone())
                    .push(" UNION SELECT c2.rowid FROM credentials c2 WHERE c2.principal_id IN (SELECT p2.id FROM principals p2 WHERE p2.user_name >= ")
                    .push_bind(text.clone())
                    .push(" AND p2.user_name < ")
                    .push_bind(high)
                    .push("))");
            }
        }
    }

    /// The candidates of a model API search of three characters or more (`needle`, lower
    /// case): the rows whose name or description the trigram index finds it in. The caller's
    /// LIKE test on the row decides; shorter needles read every row, as trigrams cannot serve
    /// them.
    pub(crate) fn push_model_api_search(qb: &mut QueryBuilder<'static, Sqlite>, needle: &str) {
        if needle.chars().count() >= 3 {
            qb.push(
                " AND m.search_key IN (SELECT rowid FROM model_apis_fts WHERE model_apis_fts MATCH ",
            )
            .push_bind(fts_phrase(needle))
            .push(")");
        }
    }

    /// The candidates of a budgeted model API count (`FROM` onwards, `m` a model API): the
    /// rows whose search entry holds every probed trigram of `needle`, read from the FTS table
    /// in its order, so that a `LIMIT` stops the reading (a phrase match would read every
    /// entry of a common trigram to find few matches).
    pub(crate) fn push_model_api_candidates(qb: &mut QueryBuilder<'static, Sqlite>, needle: &str) {
        qb.push("model_apis_fts JOIN model_apis m ON m.search_key = model_apis_fts.rowid WHERE model_apis_fts MATCH ")
            .push_bind(fts_all(&probe_trigrams(needle)));
    }

    /// The candidates of a budgeted principal count (`p`), as [`Self::push_model_api_candidates`].
    pub(crate) fn push_principal_candidates(qb: &mut QueryBuilder<'static, Sqlite>, text: &str) {
        qb.push("principals_fts JOIN principals p ON p.search_key = principals_fts.rowid WHERE principals_fts MATCH ")
            .push_bind(fts_all(&probe_trigrams(text)));
    }

    /// The candidates of a budgeted credential count by name (`c` and its owner `p`).
    pub(crate) fn push_credential_name_candidates(
        qb: &mut QueryBuilder<'static, Sqlite>,
        text: &str,
    ) {
        qb.push(
            "credentials_name_fts JOIN credentials c ON c.search_key = credentials_name_fts.rowid \
             JOIN principals p ON p.id = c.principal_id WHERE credentials_name_fts MATCH ",
        )
        .push_bind(fts_all(&probe_trigrams(text)));
    }

    /// The candidates of a budgeted credential count by owner name (`c` and its owner `p`).
    pub(crate) fn push_credential_owner_candidates(
        qb: &mut QueryBuilder<'static, Sqlite>,
        text: &str,
    ) {
        qb.push(
            "principals_fts JOIN principals p ON p.search_key = principals_fts.rowid \
             JOIN credentials c ON c.principal_id = p.id WHERE principals_fts MATCH ",
        )
        .push_bind(format!("user_name : {}", fts_all(&probe_trigrams(text))));
    }

    pub(crate) fn push_principal_search(qb: &mut QueryBuilder<'static, Sqlite>, rule: &SearchRule) {
        match rule {
            SearchRule::Substring(text) => {
                let like = like_pattern(text);
                qb.push(
                    " AND p.search_key IN (SELECT rowid FROM principals_fts WHERE principals_fts MATCH ",
                )
                .push_bind(fts_phrase(text))
                .push(")");
                push_principal_recheck(qb, like);
            }
            SearchRule::Prefix(text) => {
                qb.push(" AND p.user_name >= ")
                    .push_bind(text.clone())
                    .push(" AND p.user_name < ")
                    .push_bind(format!("{text}\u{10FFFF}"));
            }
        }
    }
}

/// The substring test of a principal search, on the row itself.
pub(crate) fn push_principal_recheck<DB: sqlx::Database>(
    qb: &mut QueryBuilder<'static, DB>,
    like: String,
) where
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    qb.push(" AND (p.user_name LIKE ")
        .push_bind(like.clone())
        .push(" ESCAPE '\\'");
    qb.push(" OR lower(coalesce(p.email, '')) LIKE ")
        .push_bind(like.clone())
        .push(" ESCAPE '\\'");
    qb.push(" OR lower(p.first_name) LIKE ")
        .push_bind(like.clone())
        .push(" ESCAPE '\\'");
    qb.push(" OR lower(p.last_name) LIKE ")
        .push_bind(like)
        .push(" ESCAPE '\\')");
}

sql_store!(SqliteStore, ::sqlx::Sqlite, ::sqlx::sqlite::SqliteRow);
