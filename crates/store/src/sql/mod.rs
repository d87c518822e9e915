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

/// Implements every storage trait of `tessera_core::store` for `$store`, a struct with
/// `fn pool(&self) -> &Pool<$db>` and `async fn write_tx(&self) -> StoreResult<Transaction<'static, $db>>`.
macro_rules! sql_store {
    ($store:ident, $db:ty, $row:ty) => {
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
