//! Search counts are budgeted (issue 19): a substring search's count examines at most
//! `SEARCH_COUNT_BUDGET` candidates of the search index, on SQLite and on PostgreSQL. A needle
//! whose trigrams are in more rows than that is answered as an estimate that never exceeds the
//! true count; one with fewer candidates is exact; a token whose name and owner both match is
//! counted once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use tessera_core::model::CredentialKind;
use tessera_core::paging::{SEARCH_COUNT_BUDGET, Total};
use tessera_core::store::{
    CredentialFilter, CredentialStore, ModelApiQuery, ModelApiStore, PrincipalQuery, PrincipalStore,
};
use tessera_store::postgres::PgStore;
use tessera_store::sqlite::SqliteStore;
use tessera_testkit::PgDatabase;

/// Model APIs `model-0000000` … in one project: past the budget, every name holds the
/// trigrams of `model-00000` (`mod`, `l-0`, `000`), of which the first 100 match.
const MODELS: u64 = SEARCH_COUNT_BUDGET + 500;

/// The rows of the test, as SQL both backends take: a user `walrus` with two PATs named
/// `walrus-…` and one not, a user per thousand model APIs, a project, the model APIs.
fn fill_sql() -> Vec<String> {
    let now = Utc::now().timestamp_millis();
    let user = "00000000-0000-4000-8000-000000000001";
    let project = "00000000-0000-4000-8000-000000000002";
    let mut sql = vec![
        format!(
            "INSERT INTO principals (id, kind, user_name, email, first_name, last_name, roles, status, created_at)
             VALUES ('{user}', 'user', 'walrus', 'walrus@example.com', 'W', 'R', 'Practitioner', 'active', {now})"
        ),
        format!(
            "INSERT INTO projects (id, name, owner_id, description, visibility, created_at)
             VALUES ('{project}', 'p', '{user}', '', 'private', {now})"
        ),
    ];
    let tokens: Vec<String> = ["walrus-1", "walrus-2", "heron"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            format!(
                "('00000000-0000-4000-8001-00000000000{i}', 'pat', '{user}', '{name}', '', 'hash-{i}', {now}, {})",
                now + 86_400_000
            )
        })
        .collect();
    sql.push(format!(
        "INSERT INTO credentials (id, kind, principal_id, name, description, token_hash, created_at, expires_at) VALUES {}",
        tokens.join(", ")
    ));
    let apis: Vec<String> = (0..MODELS)
        .map(|i| {
            format!(
                "('00000000-0000-4000-8002-{i:012}', 'model-{i:07}', '{project}', '{user}', 'sync', 'public', 'restricted', '', {now})"
            )
        })
        .collect();
    sql.push(format!(
        "INSERT INTO model_apis (id, name, project_id, owner_id, kind, visibility, access_mode, description, created_at) VALUES {}",
        apis.join(", ")
    ));
    sql
}

async fn model_count<S: ModelApiStore>(store: &S, search: &str) -> Total {
    store
        .count_model_apis(&ModelApiQuery {
            search: Some(search.into()),
            ..Default::default()
        })
        .await
        .unwrap()
}

/// The assertions, the same on both backends.
async fn assert_counts<S: ModelApiStore + CredentialStore + PrincipalStore>(
    store: &S,
    backend: &str,
) {
    // Common trigrams, 100 matches among more candidates than the budget: at least, never more.
    let common = model_count(store, "model-00000").await;
    assert!(common.is_estimate, "{backend}: {common:?}");
    assert!(common.count <= 100, "{backend}: {common:?}");
    // Rare trigrams: the candidates are few, the count exact.
    assert_eq!(
        model_count(store, "01499").await,
        Total {
            count: 1,
            is_estimate: false
        },
        "{backend}"
    );
    assert_eq!(
        model_count(store, "zebra").await,
        Total {
            count: 0,
            is_estimate: false
        },
        "{backend}"
    );
    // A PAT search matching by name and by owner counts each token once, exactly.
    let pats = |search: &str| CredentialFilter {
        kind: Some(CredentialKind::Pat),
        search: Some(search.into()),
        ..Default::default()
    };
    let now = Utc::now();
    assert_eq!(
        store.count_credentials(&pats("walrus"), now).await.unwrap(),
        Total {
            count: 3,
            is_estimate: false
        },
        "{backend}: the owner's name matches all three, two by name too"
    );
    assert_eq!(
        store.count_credentials(&pats("alrus-"), now).await.unwrap(),
        Total {
            count: 2,
            is_estimate: false
        },
        "{backend}"
    );
    assert_eq!(
        store.count_credentials(&pats("heron"), now).await.unwrap(),
        Total {
            count: 1,
            is_estimate: false
        },
        "{backend}"
    );
    let users = |search: &str| PrincipalQuery {
        search: Some(search.into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .count_matching_principals(&users("lrus@exa"))
            .await
            .unwrap(),
        Total {
            count: 1,
            is_estimate: false
        },
        "{backend}"
    );
    assert_eq!(
        store
            .count_matching_principals(&users("nobody"))
            .await
            .unwrap(),
        Total {
            count: 0,
            is_estimate: false
        },
        "{backend}"
    );
}

#[tokio::test]
async fn sqlite_search_counts_are_exact_under_the_budget_and_a_lower_bound_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    for sql in fill_sql() {
        sqlx::query(&sql).execute(store.pool()).await.unwrap();
    }
    assert_counts(&store, "sqlite").await;
}

#[tokio::test]
async fn postgres_search_counts_are_exact_under_the_budget_and_a_lower_bound_past_it() {
    let db = PgDatabase::create();
    let store = PgStore::open(&db.url).await.unwrap();
    for sql in fill_sql() {
        sqlx::query(&sql).execute(store.pool()).await.unwrap();
    }
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    assert_counts(&store, "postgres").await;
}
