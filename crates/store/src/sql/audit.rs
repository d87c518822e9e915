//! The audit log: written inside each change's transaction, read with filters. For every
//! backend (expanded by `sql_store!`).

macro_rules! sql_audit {
    ($store:ident, $db:ty, $row:ty) => {
        mod audit_sql {
            use async_trait::async_trait;
            use sqlx::{QueryBuilder, Row};
            use tessera_core::audit::{AuditActor, AuditEntry, AuditQuery};
            use tessera_core::ids::{AuditId, CredentialId, UserId};
            use tessera_core::paging::{Cursor, CursorKey, Page, Total};
            use tessera_core::store::{AuditStore, StoreResult};

            use super::$store;
            use super::paging_sql::capped_count;
            use crate::rows::{backend, from_ms, prefix_pattern, to_ms};

            impl $store {
                /// Writes `entry` inside `tx` when `changed` (a write that may find nothing to
                /// do records only what it did); gives `changed` back.
                pub(crate) async fn audit_if(tx: &mut sqlx::Transaction<'_, $db>, changed: bool, entry: &AuditEntry) -> StoreResult<bool> {
                    if changed {
                        Self::insert_audit(tx, entry).await?;
                    }
                    Ok(changed)
                }

                pub(crate) async fn insert_audit(tx: &mut sqlx::Transaction<'_, $db>, entry: &AuditEntry) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO audit_log (id, at, actor_id, actor_name, actor_ip, credential_id, credential_name,
                                                action, target_type, target_id, target_name, details)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(entry.id.to_string())
                    .bind(to_ms(entry.at))
                    .bind(entry.actor.user_id.map(|id| id.to_string()))
                    .bind(entry.actor.user_name.as_deref())
                    .bind(entry.actor.ip.as_deref())
                    .bind(entry.actor.credential_id.map(|id| id.to_string()))
                    .bind(entry.actor.credential_name.as_deref())
                    .bind(&entry.action)
                    .bind(&entry.target_type)
                    .bind(entry.target_id.as_deref())
                    .bind(entry.target_name.as_deref())
                    .bind(entry.details.to_string())
                    .execute(&mut **tx)
                    .await
                    .map_err(backend)?;
                    Ok(())
                }
            }

            /// The filters of an audit listing, each an equality on the first column of an index
            /// that continues with `(at, seq)`: an actor or target given as an id matches the id,
            /// otherwise the name (case-insensitive for targets); an action matches exactly, or by prefix
            /// when it ends with `*` (`pat.*`, filtered along the time index).
            fn push_audit_filter(qb: &mut QueryBuilder<'static, $db>, query: &AuditQuery) {
                if let Some(actor) = query.actor.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    match UserId::parse(actor) {
                        Some(id) => qb.push(" AND actor_id = ").push_bind(id.to_string()),
                        None => qb.push(" AND actor_name = ").push_bind(actor.to_lowercase()),
                    };
                }
                if let Some(action) = query.action.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    match action.strip_suffix('*') {
                        Some(prefix) => qb.push(" AND action LIKE ").push_bind(prefix_pattern(prefix)).push(" ESCAPE '\\'"),
                        None => qb.push(" AND action = ").push_bind(action.to_string()),
                    };
                }
                if let Some(target) = query.target.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    if uuid::Uuid::parse_str(target).is_ok() {
                        qb.push(" AND target_id = ").push_bind(target.to_lowercase());
                    } else {
                        qb.push(" AND (target_id = ").push_bind(target.to_string());
                        qb.push(" OR lower(target_name) = ").push_bind(target.to_lowercase()).push(")");
                    }
                }
                if let Some(from) = query.from {
                    qb.push(" AND at >= ").push_bind(to_ms(from));
                }
                if let Some(to) = query.to {
                    qb.push(" AND at <= ").push_bind(to_ms(to));
                }
            }

            fn entry_from_row(row: &$row) -> StoreResult<AuditEntry> {
                let s = |c: &str| row.try_get::<Option<String>, _>(c).map_err(backend);
                let details: String = row.try_get("details").map_err(backend)?;
                Ok(AuditEntry {
                    id: AuditId::parse(&row.try_get::<String, _>("id").map_err(backend)?).unwrap_or_default(),
                    at: from_ms(row.try_get("at").map_err(backend)?),
                    actor: AuditActor {
                        user_id: s("actor_id")?.as_deref().and_then(UserId::parse),
                        user_name: s("actor_name")?,
                        ip: s("actor_ip")?,
                        credential_id: s("credential_id")?.as_deref().and_then(CredentialId::parse),
                        credential_name: s("credential_name")?,
                    },
                    action: row.try_get("action").map_err(backend)?,
                    target_type: row.try_get("target_type").map_err(backend)?,
                    target_id: s("target_id")?,
                    target_name: s("target_name")?,
                    details: serde_json::from_str(&details).unwrap_or_default(),
                })
            }

            #[async_trait]
            impl AuditStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
                    write_tx!(self, |tx| {
                        Self::insert_audit(&mut tx, entry).await?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_audit(&self, query: &AuditQuery) -> StoreResult<Page<AuditEntry>> {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT seq, id, at, actor_id, actor_name, actor_ip, credential_id, credential_name, action,
                                target_type, target_id, target_name, details FROM audit_log WHERE 1 = 1",
                    );
                    push_audit_filter(&mut qb, query);
                    if let Some(after) = &query.after {
                        qb.push(" AND (at, seq) < (")
                            .push_bind(after.key.as_int().unwrap_or_default())
                            .push(", ")
                            .push_bind(after.tie.as_int().unwrap_or_default())
                            .push(")");
                    }
                    let limit = query.limit.max(1);
                    qb.push(" ORDER BY at DESC, seq DESC LIMIT ").push_bind(i64::from(limit));
                    qb.push(" OFFSET ").push_bind(i64::from(query.offset));
                    let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                    let items = rows.iter().map(entry_from_row).collect::<StoreResult<Vec<_>>>()?;
                    let next = match rows.last() {
                        Some(last) if rows.len() >= limit as usize => Some(Cursor::new(
                            AuditQuery::CURSOR_TAG,
                            CursorKey::Int(last.try_get("at").map_err(backend)?),
                            CursorKey::Int(last.try_get("seq").map_err(backend)?),
                        )),
                        _ => None,
                    };
                    Ok(Page { items, next })
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn count_audit(&self, query: &AuditQuery) -> StoreResult<Total> {
                    let mut qb = QueryBuilder::<$db>::new("SELECT count(*) FROM (SELECT 1 FROM audit_log WHERE 1 = 1");
                    push_audit_filter(&mut qb, query);
                    capped_count(qb, self.pool()).await
                }
            }
        }
    };
}
