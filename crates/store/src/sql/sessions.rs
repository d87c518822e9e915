//! Web UI sessions, for every backend (expanded by `sql_store!`).

macro_rules! sql_sessions {
    ($store:ident, $db:ty, $row:ty) => {
        mod sessions_sql {
            use async_trait::async_trait;
            use sqlx::Row;
            use tessera_core::ids::{CredentialId, UserId};
            use tessera_core::model::Timestamp;
            use tessera_core::secret::TokenHash;
            use tessera_core::store::{SessionStore, StoreResult, WebSession};

            use super::$store;
            use crate::rows::{backend, credential_id, from_ms, to_ms, user_id};

            #[async_trait]
            impl SessionStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_session(&self, session: &WebSession, hash: &TokenHash) -> StoreResult<()> {
                    autocommit!({
                        sqlx::query("INSERT INTO web_sessions (id, token_hash, user_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)")
                            .bind(session.id.to_string())
                            .bind(hash.0.to_vec())
                            .bind(session.user_id.to_string())
                            .bind(to_ms(session.created_at))
                            .bind(to_ms(session.expires_at))
                            .bind(to_ms(session.last_seen_at))
                            .execute(self.pool())
                            .await
                            .map_err(backend)?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn session(&self, hash: &TokenHash, now: Timestamp, idle_since: Timestamp) -> StoreResult<Option<WebSession>> {
                    let row = sqlx::query(
                        "SELECT id, user_id, created_at, expires_at, coalesce(last_seen_at, created_at) AS last_seen_at FROM web_sessions
                         WHERE token_hash = $1 AND expires_at > $2 AND coalesce(last_seen_at, created_at) > $3",
                    )
                        .bind(hash.0.to_vec())
                        .bind(to_ms(now))
                        .bind(to_ms(idle_since))
                        .fetch_optional(self.pool())
                        .await
                        .map_err(backend)?;
                    let Some(r) = row else { return Ok(None) };
                    Ok(Some(WebSession {
                        id: credential_id(&r.try_get::<String, _>("id").map_err(backend)?)?,
                        user_id: user_id(&r.try_get::<String, _>("user_id").map_err(backend)?)?,
                        created_at: from_ms(r.try_get("created_at").map_err(backend)?),
                        expires_at: from_ms(r.try_get("expires_at").map_err(backend)?),
                        last_seen_at: from_ms(r.try_get("last_seen_at").map_err(backend)?),
                    }))
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn touch_session(&self, id: CredentialId, at: Timestamp) -> StoreResult<()> {
                    autocommit!({
                        sqlx::query("UPDATE web_sessions SET last_seen_at = $1 WHERE id = $2")
                            .bind(to_ms(at))
                            .bind(id.to_string())
                            .execute(self.pool())
                            .await
                            .map_err(backend)?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn delete_session(&self, id: CredentialId) -> StoreResult<()> {
                    autocommit!({
                        sqlx::query("DELETE FROM web_sessions WHERE id = $1")
                            .bind(id.to_string())
                            .execute(self.pool())
                            .await
                            .map_err(backend)?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
                async fn delete_sessions_of(&self, user: UserId, now: Timestamp) -> StoreResult<()> {
                    autocommit!({
                        // Also sweeps every expired session.
                        sqlx::query("DELETE FROM web_sessions WHERE user_id = $1 OR expires_at <= $2")
                            .bind(user.to_string())
                            .bind(to_ms(now))
                            .execute(self.pool())
                            .await
                            .map_err(backend)?;
                        Ok(())
                    })
                }
            }
        }
    };
}
