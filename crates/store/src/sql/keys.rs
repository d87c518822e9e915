//! The realm's signing keys, for every backend (expanded by `sql_store!`).

macro_rules! sql_keys {
    ($store:ident, $db:ty, $row:ty) => {
        mod keys_sql {
            use async_trait::async_trait;
            use sqlx::Row;
            use tessera_core::audit::AuditEntry;
            use tessera_core::model::Timestamp;
            use tessera_core::realm::keys::StoredKey;
            use tessera_core::store::{KeyStore, StoreResult};

            use super::$store;
            use crate::rows::{backend, from_ms, to_ms};

            #[async_trait]
            impl KeyStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
                    let rows = sqlx::query("SELECT kid, alg, sealed_private, created_at, retired_at FROM signing_keys")
                        .fetch_all(self.pool())
                        .await
                        .map_err(backend)?;
                    rows.iter()
                        .map(|row| {
                            Ok(StoredKey {
                                kid: row.try_get("kid").map_err(backend)?,
                                alg: row.try_get("alg").map_err(backend)?,
                                sealed_private: row.try_get("sealed_private").map_err(backend)?,
                                created_at: from_ms(row.try_get("created_at").map_err(backend)?),
                                retired_at: row.try_get::<Option<i64>, _>("retired_at").map_err(backend)?.map(from_ms),
                            })
                        })
                        .collect()
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_signing_key(&self, key: &StoredKey, now: Timestamp, audit: &AuditEntry) -> StoreResult<()> {
                    write_tx!(self, audit = audit, |tx| {
                        sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
                            .bind(to_ms(now))
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                        sqlx::query("INSERT INTO signing_keys (kid, alg, sealed_private, created_at) VALUES ($1, $2, $3, $4)")
                            .bind(&key.kid)
                            .bind(&key.alg)
                            .bind(&key.sealed_private)
                            .bind(to_ms(key.created_at))
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                        Ok(())
                    })
                }
            }
        }
    };
}
