//! The SQLite search indexes stay right when the tables' rowids change (migration 0017). The
//! FTS5 trigram tables were keyed on the rowid of tables whose primary key is text, which
//! SQLite may renumber (VACUUM is documented to; a dump restored into a new file does wherever
//! rows were deleted). Rows are created, some deleted, the real database file is vacuumed and
//! its rowids renumbered as SQLite may: every search (PATs by token or owner name, users, model
//! APIs) still finds exactly the rows a plain substring test on the tables finds, on a fresh
//! database and on one upgraded from 0015 — where the old keying is shown to lose them first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::Utc;
use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tessera_core::model::CredentialKind;
use tessera_core::paging::PageQuery;
use tessera_core::store::{
    CredentialFilter, CredentialStore, ModelApiQuery, ModelApiStore, PrincipalQuery, PrincipalStore,
};
use tessera_store::sqlite::SqliteStore;

/// Searches of three characters or more (the FTS path), each matching some rows and not others.
const SEARCHES: [&str; 7] = [
    "walrus", "heron", "otter", "tok-3", "ready", "model-00", "-00",
];

const USERS: [&str; 6] = [
    "walrus-anna",
    "walrus-bert",
    "heron-cara",
    "otter-dan",
    "heron-eve",
    "lynx-fay",
];

/// The id of row `n` of user `u` of `round` ('a' or 'b') in the table numbered `table`: a UUID
/// whose last group reads round, user, row.
fn id(table: u8, round: &str, u: usize, n: usize) -> String {
    format!("00000000-0000-4000-800{table}-{round}{u:02}{n:09}")
}

/// Users, five PATs each, and a project with two model APIs each, straight into the tables.
async fn fill(pool: &SqlitePool, round: &str) {
    let now = Utc::now().timestamp_millis();
    for (u, name) in USERS.iter().enumerate() {
        let user = id(0, round, u, 0);
        let user_name = format!("{round}{name}");
        sqlx::query(
            "INSERT INTO principals (id, kind, user_name, email, first_name, last_name, roles, status, created_at)
             VALUES ($1, 'user', $2, $3, $4, 'Smith', 'Practitioner', 'active', $5)",
        )
        .bind(&user)
        .bind(&user_name)
        .bind(format!("{user_name}@example.com"))
        .bind(if u % 2 == 0 { "Ready" } else { "Steady" })
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
        for t in 0..5 {
            sqlx::query(
                "INSERT INTO credentials (id, kind, principal_id, name, description, token_hash, created_at, expires_at)
                 VALUES ($1, 'pat', $2, $3, '', $4, $5, $6)",
            )
            .bind(id(1, round, u, t))
            .bind(&user)
            .bind(format!("tok-{t}-{}", ["blue", "ready", "green"][t % 3]))
            .bind(id(1, round, u, t).as_bytes()[4..].to_vec())
            .bind(now + t as i64)
            .bind(now + 86_400_000)
            .execute(pool)
            .await
            .unwrap();
        }
        let project = id(2, round, u, 0);
        sqlx::query(
            "INSERT INTO projects (id, name, owner_id, description, visibility, created_at)
             VALUES ($1, 'proj', $2, '', 'private', $3)",
        )
        .bind(&project)
        .bind(&user)
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
        for m in 0..2 {
            sqlx::query(
                "INSERT INTO model_apis (id, name, project_id, owner_id, kind, visibility, access_mode, description, created_at)
                 VALUES ($1, $2, $3, $4, 'sync', 'public', 'restricted', $5, $6)",
            )
            .bind(id(3, round, u, m))
            .bind(format!("model-{u:02}{m}"))
            .bind(&project)
            .bind(&user)
            .bind(format!("by {user_name}"))
            .bind(now)
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

/// Deletes a user's PATs and model APIs and some other rows, leaving gaps in every table's rowids.
async fn delete_some(pool: &SqlitePool, round: &str) {
    for sql in [
        "DELETE FROM credentials WHERE id LIKE '%-8001-' || $1 || '01%' OR id LIKE '%-8001-' || $1 || '__000000002'",
        "DELETE FROM model_apis WHERE id LIKE '%-8003-' || $1 || '01%' OR id LIKE '%-8003-' || $1 || '__000000000'",
        "DELETE FROM projects WHERE id LIKE '%-8002-' || $1 || '01%'",
        "DELETE FROM principals WHERE id LIKE '%-8000-' || $1 || '01%'",
    ] {
        sqlx::query(sql).bind(round).execute(pool).await.unwrap();
    }
}

/// Vacuums the file, then gives every row of the searched tables another rowid, as SQLite may
/// (a renumbering VACUUM, a restored dump): only the rowid changes, no trigger sees it.
async fn vacuum_and_renumber(pool: &SqlitePool) {
    sqlx::query("VACUUM").execute(pool).await.unwrap();
    for table in ["credentials", "principals", "model_apis"] {
        sqlx::query(&format!("UPDATE {table} SET rowid = rowid + 1000"))
            .execute(pool)
            .await
            .unwrap();
    }
}

/// The ids `sql` selects for `term`: the truth, by a plain substring test on the tables.
async fn ids(pool: &SqlitePool, sql: &str, term: &str) -> BTreeSet<String> {
    let rows: Vec<String> = sqlx::query_scalar(sql)
        .bind(format!("%{term}%"))
        .fetch_all(pool)
        .await
        .unwrap();
    rows.into_iter().collect()
}

const PATS_TRUTH: &str = "SELECT c.id FROM credentials c JOIN principals p ON p.id = c.principal_id
    WHERE c.kind = 'pat' AND (lower(c.name) LIKE $1 OR p.user_name LIKE $1)";
const USERS_TRUTH: &str =
    "SELECT id FROM principals WHERE user_name LIKE $1 OR lower(email) LIKE $1
    OR lower(first_name) LIKE $1 OR lower(last_name) LIKE $1";
const MODELS_TRUTH: &str =
    "SELECT id FROM model_apis WHERE lower(name) LIKE $1 OR lower(description) LIKE $1";

/// Every search through the store finds exactly what the substring tests find.
async fn assert_searches_right(store: &SqliteStore, when: &str) {
    let pool = store.pool();
    for term in SEARCHES {
        let pats = CredentialFilter {
            kind: Some(CredentialKind::Pat),
            search: Some(term.to_string()),
            ..CredentialFilter::default()
        };
        let found: BTreeSet<String> = store
            .list_credentials(&pats, Utc::now())
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.credential.id.to_string())
            .collect();
        let truth = ids(pool, PATS_TRUTH, term).await;
        assert_eq!(found, truth, "{when}: PATs searched for {term:?}");

        let users = PrincipalQuery {
            kind: None,
            search: Some(term.to_string()),
            after: None,
            offset: 0,
            limit: 1000,
        };
        let found: BTreeSet<String> = store
            .list_principals(&users)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id.to_string())
            .collect();
        let truth = ids(pool, USERS_TRUTH, term).await;
        assert_eq!(found, truth, "{when}: users searched for {term:?}");

        // A page of 1,000 rows is read from the search index (no walk of the name order).
        let models = ModelApiQuery {
            visible_to: None,
            search: Some(term.to_string()),
            page: PageQuery {
                limit: 1000,
                ..PageQuery::default()
            },
        };
        let found: BTreeSet<String> = store
            .model_api_page(&models)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id.to_string())
            .collect();
        let truth = ids(pool, MODELS_TRUTH, term).await;
        assert_eq!(found, truth, "{when}: model APIs searched for {term:?}");
        let counted = store.count_model_apis(&models).await.unwrap();
        assert_eq!(
            counted.count,
            truth.len() as u64,
            "{when}: model APIs counted for {term:?}"
        );
    }
    // The searches are not vacuous: most terms match some rows but not all.
    let some = ids(pool, PATS_TRUTH, "walrus").await.len();
    let all = ids(pool, PATS_TRUTH, "").await.len();
    assert!(
        some > 0 && some < all,
        "{when}: {some} of {all} PATs match walrus"
    );
}

async fn open(dir: &tempfile::TempDir) -> SqliteStore {
    let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
    SqliteStore::open(&url).await.unwrap()
}

#[tokio::test]
async fn searches_find_exactly_the_right_rows_after_vacuum_and_renumbered_rowids() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    fill(store.pool(), "a").await;
    delete_some(store.pool(), "a").await;
    assert_searches_right(&store, "before VACUUM").await;

    vacuum_and_renumber(store.pool()).await;
    assert_searches_right(&store, "after VACUUM and renumbering").await;

    // Rows written afterwards take new keys and are found with the others; a renamed row is
    // found by its new name only.
    fill(store.pool(), "b").await;
    sqlx::query("UPDATE credentials SET name = 'renamed-otter' WHERE id = $1")
        .bind(id(1, "a", 0, 0))
        .execute(store.pool())
        .await
        .unwrap();
    assert_searches_right(&store, "after more rows").await;
    vacuum_and_renumber(store.pool()).await;
    assert_searches_right(&store, "after a second VACUUM").await;

    // The same file opened again (as after a restart) still searches right.
    drop(store);
    let store = open(&dir).await;
    assert_searches_right(&store, "reopened").await;
}

/// A pool on `dir`'s database migrated up to `last` only (an installation of an older release).
async fn old_release(dir: &tempfile::TempDir, last: i64) -> SqlitePool {
    let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
    let options = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let all = sqlx::migrate!("./migrations/sqlite");
    let older = Migrator {
        migrations: all
            .migrations
            .iter()
            .filter(|m| m.version <= last)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..Migrator::DEFAULT
    };
    older.run(&pool).await.unwrap();
    pool
}

#[tokio::test]
async fn a_database_upgraded_from_0015_searches_right_where_the_rowid_keys_had_lost_rows() {
    let dir = tempfile::tempdir().unwrap();
    let pool = old_release(&dir, 15).await;
    fill(&pool, "a").await;
    delete_some(&pool, "a").await;
    vacuum_and_renumber(&pool).await;
    // The old keying (FTS rowid = table rowid) now finds nothing of what it should.
    let by_rowid: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM credentials WHERE rowid IN
         (SELECT rowid FROM credentials_name_fts WHERE credentials_name_fts MATCH '\"ready\"')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let truth = ids(&pool, PATS_TRUTH, "ready").await;
    assert!(!truth.is_empty());
    assert!(
        by_rowid.iter().all(|id| !truth.contains(id)) && by_rowid.len() < truth.len(),
        "the rowid-keyed index should have lost the rows: found {by_rowid:?} of {truth:?}"
    );
    pool.close().await;

    // The upgrade (0017) keys the indexes anew from the tables.
    let store = open(&dir).await;
    assert_searches_right(&store, "upgraded").await;
    vacuum_and_renumber(store.pool()).await;
    assert_searches_right(&store, "upgraded, after VACUUM and renumbering").await;
    fill(store.pool(), "b").await;
    delete_some(store.pool(), "b").await;
    vacuum_and_renumber(store.pool()).await;
    assert_searches_right(&store, "upgraded, after more rows").await;
}
