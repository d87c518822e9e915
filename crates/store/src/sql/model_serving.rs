//! Model API versions, access tokens and invocation logs, for every backend (expanded by
//! `sql_store!`).

macro_rules! sql_model_serving {
    ($store:ident, $db:ty, $row:ty) => {
        mod model_serving_sql {
            use sqlx::Row;
            use tessera_core::audit::AuditEntry;
            use tessera_core::ids::{ModelApiId, ModelTokenId};
            use tessera_core::model::Timestamp;
            use tessera_core::model_apis::{Invocation, LoggedInvocation, ModelToken, ModelVersion};
            use tessera_core::paging::{COUNT_CAP, PageQuery, Total};
            use tessera_core::names::{TokenName, UserName};
            use tessera_core::secret::TokenHash;
            use tessera_core::store::{StoreError, StoreResult};

            use super::$store;
            use crate::rows::{backend, conflict_or_backend, from_ms, to_ms};

            const TOKEN_COLUMNS: &str = "id, model_api_id, name, token_hash, sealed, created_at, created_by, revoked_at";

            fn token_from_row(r: &$row) -> StoreResult<ModelToken> {
                let corrupt = |w: &str| StoreError::Backend(format!("corrupt model token {w}"));
                let hash: Vec<u8> = r.try_get("token_hash").map_err(backend)?;
                Ok(ModelToken {
                    id: ModelTokenId::parse(&r.try_get::<String, _>("id").map_err(backend)?).ok_or_else(|| corrupt("id"))?,
                    model_api_id: ModelApiId::parse(&r.try_get::<String, _>("model_api_id").map_err(backend)?).ok_or_else(|| corrupt("model API id"))?,
                    name: TokenName::from_trusted(r.try_get("name").map_err(backend)?),
                    hash: TokenHash::from_slice(&hash).ok_or_else(|| corrupt("hash"))?,
                    sealed: r.try_get("sealed").map_err(backend)?,
                    created_at: from_ms(r.try_get("created_at").map_err(backend)?),
                    created_by: UserName::from_trusted(r.try_get("created_by").map_err(backend)?),
                    revoked_at: r.try_get::<Option<i64>, _>("revoked_at").map_err(backend)?.map(from_ms),
                })
            }

            impl $store {
                pub(crate) async fn serving_insert_version(&self, api: ModelApiId, upstream_url: &str, description: &str, at: Timestamp, audit: &AuditEntry) -> StoreResult<ModelVersion> {
                    let number = write_tx!(self, audit = audit, |tx| {
                        let last: Option<i64> = sqlx::query_scalar("SELECT max(number) FROM model_api_versions WHERE model_api_id = $1")
                            .bind(api.to_string())
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(backend)?;
                        let number = last.unwrap_or(0) + 1;
                        sqlx::query("INSERT INTO model_api_versions (model_api_id, number, upstream_url, description, created_at) VALUES ($1, $2, $3, $4, $5)")
                            .bind(api.to_string())
                            .bind(number)
                            .bind(upstream_url)
                            .bind(description)
                            .bind(to_ms(at))
                            .execute(&mut *tx)
                            .await
                            .map_err(conflict_or_backend)?;
                        sqlx::query("UPDATE model_apis SET active_version = coalesce(active_version, $1) WHERE id = $2")
                            .bind(number)
                            .bind(api.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                        Ok(number)
                    })?;
                    let active = number == 1;
                    Ok(ModelVersion { number, upstream_url: upstream_url.to_string(), description: description.to_string(), created_at: at, active })
                }

                pub(crate) async fn serving_versions(&self, api: ModelApiId) -> StoreResult<Vec<ModelVersion>> {
                    let rows = sqlx::query(
                        "SELECT v.number, v.upstream_url, v.description, v.created_at, m.active_version
                         FROM model_api_versions v JOIN model_apis m ON m.id = v.model_api_id
                         WHERE v.model_api_id = $1 ORDER BY v.number",
                    )
                    .bind(api.to_string())
                    .fetch_all(self.pool())
                    .await
                    .map_err(backend)?;
                    rows.iter()
                        .map(|r| {
                            let number: i64 = r.try_get("number").map_err(backend)?;
                            let active: Option<i64> = r.try_get("active_version").map_err(backend)?;
                            Ok(ModelVersion {
                                number,
                                upstream_url: r.try_get("upstream_url").map_err(backend)?,
                                description: r.try_get("description").map_err(backend)?,
                                created_at: from_ms(r.try_get("created_at").map_err(backend)?),
                                active: active == Some(number),
                            })
                        })
                        .collect()
                }

                pub(crate) async fn serving_activate(&self, api: ModelApiId, number: i64, audit: &AuditEntry) -> StoreResult<bool> {
                    write_tx!(self, |tx| {
                        let changed = sqlx::query(
                            "UPDATE model_apis SET active_version = $1 WHERE id = $2
                             AND EXISTS (SELECT 1 FROM model_api_versions WHERE model_api_id = $2 AND number = $1)",
                        )
                        .bind(number)
                        .bind(api.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?
                        .rows_affected()
                            > 0;
                        Self::audit_if(&mut tx, changed, audit).await
                    })
                }

                pub(crate) async fn serving_insert_token(&self, t: &ModelToken, audit: &AuditEntry) -> StoreResult<()> {
                    write_tx!(self, audit = audit, |tx| {
                        sqlx::query(
                            "INSERT INTO model_tokens (id, model_api_id, name, token_hash, sealed, created_at, created_by)
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(t.id.to_string())
                        .bind(t.model_api_id.to_string())
                        .bind(t.name.as_str())
                        .bind(t.hash.0.as_slice())
                        .bind(&t.sealed)
                        .bind(to_ms(t.created_at))
                        .bind(t.created_by.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict_or_backend)?;
                        Ok(())
                    })
                }

                pub(crate) async fn serving_tokens(&self, api: ModelApiId) -> StoreResult<Vec<ModelToken>> {
                    let rows = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM model_tokens WHERE model_api_id = $1 ORDER BY created_at, id"))
                        .bind(api.to_string())
                        .fetch_all(self.pool())
                        .await
                        .map_err(backend)?;
                    rows.iter().map(token_from_row).collect()
                }

                pub(crate) async fn serving_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<ModelToken>> {
                    sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM model_tokens WHERE token_hash = $1"))
                        .bind(hash.0.to_vec())
                        .fetch_optional(self.pool())
                        .await
                        .map_err(backend)?
                        .as_ref()
                        .map(token_from_row)
                        .transpose()
                }

                pub(crate) async fn serving_revoke_token(&self, api: ModelApiId, id: ModelTokenId, at: Timestamp, audit: &AuditEntry) -> StoreResult<Option<ModelToken>> {
                    write_tx!(self, |tx| {
                        let changed = sqlx::query("UPDATE model_tokens SET revoked_at = $1 WHERE id = $2 AND model_api_id = $3 AND revoked_at IS NULL")
                            .bind(to_ms(at))
                            .bind(id.to_string())
                            .bind(api.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?
                            .rows_affected()
                            > 0;
                        if !changed {
                            return Ok(None);
                        }
                        Self::insert_audit(&mut tx, audit).await?;
                        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM model_tokens WHERE id = $1"))
                            .bind(id.to_string())
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(backend)?;
                        let token = token_from_row(&row)?;
                        Ok(Some(token))
                    })
                }

                /// Writes a batch of invocation logs in one transaction, 500 rows a statement.
                pub(crate) async fn serving_record(&self, batch: &[Invocation]) -> StoreResult<()> {
                    if batch.is_empty() {
                        return Ok(());
                    }
                    write_tx!(self, |tx| {
                        for chunk in batch.chunks(500) {
                            let mut qb = sqlx::QueryBuilder::<$db>::new(
                                "INSERT INTO model_invocations (model_api_id, at, version, status, latency_ms, token_name) ",
                            );
                            qb.push_values(chunk, |mut row, i| {
                                row.push_bind(i.model_api_id.to_string())
                                    .push_bind(to_ms(i.at))
                                    .push_bind(i.version)
                                    .push_bind(i64::from(i.status))
                                    .push_bind(i.latency_ms)
                                    .push_bind(i.token_name.clone());
                            });
                            qb.build().execute(&mut *tx).await.map_err(backend)?;
                        }
                        Ok(())
                    })
                }

                /// A page of the log, newest first: after the cursor's `seq`, or past `offset`
                /// entries (which the index walks), at most `limit`.
                pub(crate) async fn serving_invocations(&self, api: ModelApiId, page: &PageQuery) -> StoreResult<Vec<LoggedInvocation>> {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "SELECT seq, at, version, status, latency_ms, token_name FROM model_invocations WHERE model_api_id = ",
                    );
                    qb.push_bind(api.to_string());
                    if let Some(after) = &page.after {
                        qb.push(" AND seq < ").push_bind(after.key.as_int().unwrap_or(i64::MIN));
                    }
                    qb.push(" ORDER BY seq DESC LIMIT ").push_bind(i64::from(page.limit.max(1)));
                    qb.push(" OFFSET ").push_bind(i64::from(page.offset));
                    let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                    rows.iter()
                        .map(|r| {
                            let status: i64 = r.try_get("status").map_err(backend)?;
                            Ok(LoggedInvocation {
                                seq: r.try_get("seq").map_err(backend)?,
                                entry: Invocation {
                                    model_api_id: api,
                                    at: from_ms(r.try_get("at").map_err(backend)?),
                                    version: r.try_get("version").map_err(backend)?,
                                    status: u16::try_from(status).unwrap_or(0),
                                    latency_ms: r.try_get("latency_ms").map_err(backend)?,
                                    token_name: r.try_get("token_name").map_err(backend)?,
                                },
                            })
                        })
                        .collect()
                }

                /// The number of entries in the log, counted on the index up to the cap.
                pub(crate) async fn serving_count_invocations(&self, api: ModelApiId) -> StoreResult<Total> {
                    let n: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM (SELECT 1 FROM model_invocations WHERE model_api_id = $1 LIMIT $2) counted",
                    )
                    .bind(api.to_string())
                    .bind(COUNT_CAP as i64 + 1)
                    .fetch_one(self.pool())
                    .await
                    .map_err(backend)?;
                    Ok(Total::from_capped(u64::try_from(n).unwrap_or(0)))
                }
            }
        }
    };
}
