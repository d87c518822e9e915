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
            use sqlx::{Pool, QueryBuilder};
            use tessera_core::paging::{COUNT_CAP, PageQuery, Total};
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
