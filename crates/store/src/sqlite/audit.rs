//! SQLite: reading the audit log (entries are written with each change, in its transaction).

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite};
use tessera_core::audit::{AuditActor, AuditEntry, AuditQuery};
use tessera_core::ids::{AuditId, CredentialId, UserId};
use tessera_core::store::AuditStore;
use tessera_core::store::StoreResult;

use super::SqliteStore;
use crate::rows::{backend, from_ms, like_pattern, to_ms};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn list_audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>> {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT id, at, actor_id, actor_name, actor_ip, credential_id, credential_name, action,
                    target_type, target_id, target_name, details FROM audit_log WHERE 1 = 1",
        );
        if let Some(actor) = query.actor.as_deref().filter(|s| !s.is_empty()) {
            qb.push(" AND (actor_name = ")
                .push_bind(actor.to_lowercase());
            qb.push(" OR actor_id = ")
                .push_bind(actor.to_string())
                .push(")");
        }
        if let Some(action) = query.action.as_deref().filter(|s| !s.is_empty()) {
            qb.push(" AND action LIKE ")
                .push_bind(like_pattern(action))
                .push(" ESCAPE '\\'");
        }
        if let Some(target) = query.target.as_deref().filter(|s| !s.is_empty()) {
            qb.push(" AND (target_id = ").push_bind(target.to_string());
            qb.push(" OR lower(target_name) = ")
                .push_bind(target.to_lowercase())
                .push(")");
        }
        if let Some(from) = query.from {
            qb.push(" AND at >= ").push_bind(to_ms(from));
        }
        if let Some(to) = query.to {
            qb.push(" AND at <= ").push_bind(to_ms(to));
        }
        qb.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(query.limit.max(1)));
        qb.push(" OFFSET ").push_bind(i64::from(query.offset));
        let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
        rows.iter()
            .map(|row| {
                let s = |c: &str| row.try_get::<Option<String>, _>(c).map_err(backend);
                let details: String = row.try_get("details").map_err(backend)?;
                Ok(AuditEntry {
                    id: AuditId::parse(&row.try_get::<String, _>("id").map_err(backend)?)
                        .unwrap_or_default(),
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
            })
            .collect()
    }
}
