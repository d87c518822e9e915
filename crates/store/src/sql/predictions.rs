//! The async prediction queue, for every backend (expanded by `sql_store!`). Claims lock rows
//! with the backend's `SKIP_LOCKED` clause (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several
//! nodes share the queue; SQLite: nothing, its writers are serialized already).

macro_rules! sql_predictions {
    ($store:ident, $db:ty, $row:ty) => {
        mod predictions_sql {
            use async_trait::async_trait;
            use sqlx::Row;
            use tessera_core::ids::{ModelApiId, PredictionId};
            use tessera_core::model::Timestamp;
            use tessera_core::predictions::{Outcome, Prediction, PredictionStatus};
            use tessera_core::store::{PredictionStore, StoreError, StoreResult};

            use super::$store;
            use crate::rows::{backend, from_ms, to_ms};

            const COLUMNS: &str = "id, model_api_id, version, upstream_url, input, status, attempts, result, errors, token_name, created_at, deadline_at, next_attempt_at, finished_at";

            fn from_row(r: &$row) -> StoreResult<Prediction> {
                let corrupt = |w: &str| StoreError::Backend(format!("corrupt prediction {w}"));
                let errors: String = r.try_get("errors").map_err(backend)?;
                let attempts: i64 = r.try_get("attempts").map_err(backend)?;
                Ok(Prediction {
                    id: PredictionId::parse(&r.try_get::<String, _>("id").map_err(backend)?).ok_or_else(|| corrupt("id"))?,
                    model_api_id: ModelApiId::parse(&r.try_get::<String, _>("model_api_id").map_err(backend)?).ok_or_else(|| corrupt("model API id"))?,
                    version: r.try_get("version").map_err(backend)?,
                    upstream_url: r.try_get("upstream_url").map_err(backend)?,
                    input: r.try_get("input").map_err(backend)?,
                    status: PredictionStatus::parse(&r.try_get::<String, _>("status").map_err(backend)?).ok_or_else(|| corrupt("status"))?,
                    attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
                    result: r.try_get("result").map_err(backend)?,
                    errors: serde_json::from_str(&errors).map_err(|_| corrupt("errors"))?,
                    token_name: r.try_get("token_name").map_err(backend)?,
                    created_at: from_ms(r.try_get("created_at").map_err(backend)?),
                    deadline_at: from_ms(r.try_get("deadline_at").map_err(backend)?),
                    next_attempt_at: from_ms(r.try_get("next_attempt_at").map_err(backend)?),
                    finished_at: r.try_get::<Option<i64>, _>("finished_at").map_err(backend)?.map(from_ms),
                })
            }

            #[async_trait]
            impl PredictionStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_prediction(&self, p: &Prediction) -> StoreResult<()> {
                    autocommit!({
                        sqlx::query(
                            "INSERT INTO model_predictions (id, model_api_id, version, upstream_url, input, status, attempts, errors, token_name, created_at, deadline_at, next_attempt_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        )
                        .bind(p.id.to_string())
                        .bind(p.model_api_id.to_string())
                        .bind(p.version)
                        .bind(&p.upstream_url)
                        .bind(&p.input)
                        .bind(p.status.as_str())
                        .bind(i64::from(p.attempts))
                        .bind(serde_json::to_string(&p.errors).map_err(|e| StoreError::Backend(e.to_string()))?)
                        .bind(p.token_name.as_deref())
                        .bind(to_ms(p.created_at))
                        .bind(to_ms(p.deadline_at))
                        .bind(to_ms(p.next_attempt_at))
                        .execute(self.pool())
                        .await
                        .map_err(backend)?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(api = %api, id = %id))]
                async fn prediction(&self, api: ModelApiId, id: PredictionId) -> StoreResult<Option<Prediction>> {
                    sqlx::query(&format!("SELECT {COLUMNS} FROM model_predictions WHERE id = $1 AND model_api_id = $2"))
                        .bind(id.to_string())
                        .bind(api.to_string())
                        .fetch_optional(self.pool())
                        .await
                        .map_err(backend)?
                        .as_ref()
                        .map(from_row)
                        .transpose()
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn claim_predictions(&self, now: Timestamp, lease_until: Timestamp, limit: u32) -> StoreResult<Vec<Prediction>> {
                    let rows = write_tx!(self, |tx| {
                        sqlx::query(&format!(
                            "UPDATE model_predictions SET status = 'running', attempts = attempts + 1, lease_until = $2
                             WHERE id IN (
                                 SELECT id FROM model_predictions
                                 WHERE (status = 'queued' AND next_attempt_at <= $1) OR (status = 'running' AND lease_until <= $1)
                                 ORDER BY next_attempt_at LIMIT $3{}
                             )
                             RETURNING {COLUMNS}",
                            $store::SKIP_LOCKED
                        ))
                        .bind(to_ms(now))
                        .bind(to_ms(lease_until))
                        .bind(i64::from(limit))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(backend)
                    })?;
                    rows.iter().map(from_row).collect()
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn settle_prediction(&self, id: PredictionId, attempt: u32, outcome: &Outcome, now: Timestamp) -> StoreResult<bool> {
                    write_tx!(self, |tx| {
                        let current: Option<String> = sqlx::query_scalar(&format!(
                            "SELECT errors FROM model_predictions WHERE id = $1 AND status = 'running' AND attempts = $2{}",
                            $store::FOR_UPDATE
                        ))
                        .bind(id.to_string())
                        .bind(i64::from(attempt))
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend)?;
                        let Some(current) = current else {
                            return Ok(false);
                        };
                        let mut errors: Vec<String> = serde_json::from_str(&current).unwrap_or_default();
                        let (status, result, next, finished) = match outcome {
                            Outcome::Succeeded { result } => ("succeeded", Some(result.as_str()), None, Some(now)),
                            Outcome::Failed { error } => {
                                errors.push(error.clone());
                                ("failed", None, None, Some(now))
                            }
                            Outcome::Retry { error, at } => {
                                errors.push(error.clone());
                                ("queued", None, Some(*at), None)
                            }
                        };
                        sqlx::query(
                            "UPDATE model_predictions SET status = $1, result = $2, errors = $3,
                                 next_attempt_at = coalesce($4, next_attempt_at), finished_at = $5, lease_until = NULL
                             WHERE id = $6",
                        )
                        .bind(status)
                        .bind(result)
                        .bind(serde_json::to_string(&errors).map_err(|e| StoreError::Backend(e.to_string()))?)
                        .bind(next.map(to_ms))
                        .bind(finished.map(to_ms))
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                        Ok(true)
                    })
                }
            }
        }
    };
}
