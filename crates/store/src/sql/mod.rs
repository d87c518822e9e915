//! The SQL shared by both backends, written once as macros and expanded per backend, so that
//! SQLite and PostgreSQL cannot drift apart. Placeholders are `$N` (both drivers bind them by
//! number); each backend provides `pool()` and `write_tx()` (SQLite: `BEGIN IMMEDIATE`).

#[macro_use]
mod audit;
#[macro_use]
mod credentials;
#[macro_use]
mod keys;
#[macro_use]
mod model_apis;
#[macro_use]
mod model_serving;
#[macro_use]
mod organizations;
#[macro_use]
mod predictions;
#[macro_use]
mod principals;
#[macro_use]
mod projects;
#[macro_use]
mod sessions;
#[macro_use]
mod sso;

/// The keyset paging and the capped count shared by the listing queries, as a module
/// `paging_sql` of each backend.
macro_rules! sql_paging {
    ($db:ty) => {
        mod paging_sql {
            use sqlx::Row;
            use sqlx::{Pool, QueryBuilder};
            use tessera_core::paging::{COUNT_CAP, PageQuery, SEARCH_COUNT_BUDGET, Total};
            use tessera_core::store::StoreResult;

            use crate::rows::backend;

            /// Ends a listing ordered by the text columns `key, tie` (a name and an id): the rows
            /// after `page`'s cursor, in that order, then its `LIMIT` (at least 1) and `OFFSET`.
            /// The query so far must end in a condition (`WHERE 1 = 1` at the least).
            pub(crate) fn push_text_page(
                qb: &mut QueryBuilder<'static, $db>,
                key: &str,
                tie: &str,
                page: &PageQuery,
            ) {
                if let Some(after) = &page.after {
                    qb.push(format!(" AND ({key}, {tie}) > ("))
                        .push_bind(after.key.as_text().unwrap_or_default().to_string())
                        .push(", ")
                        .push_bind(after.tie.as_text().unwrap_or_default().to_string())
                        .push(")");
                }
                qb.push(format!(" ORDER BY {key}, {tie} LIMIT "))
                    .push_bind(i64::from(page.limit.max(1)));
                qb.push(" OFFSET ").push_bind(i64::from(page.offset));
            }

            /// How many ids a `… IN (…)` list of [`push_id_list`] takes at most: well under either
            /// backend's limit of bound parameters.
            pub(crate) const ID_CHUNK: usize = 500;

            /// Pushes `(id, id, …)`, each id bound: the list of an `IN`, for reading what belongs to
            /// a page's rows in one query (chunks of at most [`ID_CHUNK`]).
            pub(crate) fn push_id_list(qb: &mut QueryBuilder<'static, $db>, ids: &[String]) {
                qb.push("(");
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(id.clone());
                }
                qb.push(")");
            }

            /// The opening of a budgeted search count (see [`budgeted_count`]): the test of each
            /// candidate follows (conditions after `WHERE 1 = 1`), then [`BUDGETED_FROM`] and the
            /// candidates.
            pub(crate) const BUDGETED_OPEN: &str =
                "SELECT count(*), coalesce(sum(hit), 0) FROM (SELECT CASE WHEN 1 = 1";
            /// Between a budgeted count's test and its candidates (`… FROM <candidates>`).
            pub(crate) const BUDGETED_FROM: &str = " THEN 1 ELSE 0 END AS hit FROM ";

            /// Closes and runs a budgeted search count: `BUDGETED_OPEN`, the test of a row (every
            /// filter and the search's own substring test), `BUDGETED_FROM`, the candidates of the
            /// search's index (several arms joined by `UNION ALL`, each testing and reading as
            /// the first, none counting a row another counts). It examines at most
            /// `SEARCH_COUNT_BUDGET` candidates (and one more, to know there are more), whatever
            /// the table's size or the share of them that match; when there were more, the
            /// matches found are a lower bound (an estimate). Planned for its parameters each time (`persistent(false)`): a generic
            /// plan is blind to how common the trigrams are.
            pub(crate) async fn budgeted_count(
                mut qb: QueryBuilder<'static, $db>,
                pool: &Pool<$db>,
            ) -> StoreResult<Total> {
                // One past the budget: a search with exactly the budget's candidates is exact.
                qb.push(" LIMIT ")
                    .push_bind(SEARCH_COUNT_BUDGET as i64 + 1)
                    .push(") examined");
                let row = qb
                    .build()
                    .persistent(false)
                    .fetch_one(pool)
                    .await
                    .map_err(backend)?;
                let examined: i64 = row.try_get(0).map_err(backend)?;
                let hits: i64 = row.try_get(1).map_err(backend)?;
                Ok(Total::from_budgeted(
                    u64::try_from(hits).unwrap_or(0),
                    u64::try_from(examined).unwrap_or(0),
                ))
            }

            /// Closes and runs a count opened as `SELECT count(*) FROM (SELECT 1 FROM …`: it
            /// stops at `COUNT_CAP + 1` rows, which `Total` reads as an estimate.
            pub(crate) async fn capped_count(
                qb: QueryBuilder<'static, $db>,
                pool: &Pool<$db>,
            ) -> StoreResult<Total> {
                capped_count_planned(qb, pool, true).await
            }

            /// [`capped_count`], planned for its own parameters when `persistent` is false (see
            /// `list_principals`: a cached statement may run a generic plan blind to a search).
            pub(crate) async fn capped_count_planned(
                mut qb: QueryBuilder<'static, $db>,
                pool: &Pool<$db>,
                persistent: bool,
            ) -> StoreResult<Total> {
                qb.push(" LIMIT ")
                    .push_bind(COUNT_CAP as i64 + 1)
                    .push(") counted");
                let n: i64 = qb
                    .build_query_scalar()
                    .persistent(persistent)
                    .fetch_one(pool)
                    .await
                    .map_err(backend)?;
                Ok(Total::from_capped(u64::try_from(n).unwrap_or(0)))
            }
        }
    };
}

/// Implements every storage trait of `tessera_core::store` for `$store`, a struct with
/// `fn pool(&self) -> &Pool<$db>` and `async fn write_tx(&self) -> StoreResult<Transaction<'static, $db>>`.
macro_rules! sql_store {
    ($store:ident, $db:ty, $row:ty) => {
        sql_paging!($db);
        sql_audit!($store, $db, $row);
        sql_principals!($store, $db, $row);
        sql_credentials!($store, $db, $row);
        sql_keys!($store, $db, $row);
        sql_organizations!($store, $db, $row);
        sql_projects!($store, $db, $row);
        sql_model_apis!($store, $db, $row);
        sql_model_serving!($store, $db, $row);
        sql_predictions!($store, $db, $row);
        sql_sessions!($store, $db, $row);
        sql_sso!($store, $db, $row);
    };
}
