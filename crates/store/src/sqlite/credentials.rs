//! SQLite: credentials (PATs, service-account tokens, API keys) and their usage.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tessera_core::audit::{AuditActor, AuditEntry};
use tessera_core::ids::CredentialId;
use tessera_core::model::{Credential, CredentialKind, EXPIRING_SOON, Timestamp, TokenStatus};
use tessera_core::names::TokenName;
use tessera_core::secret::TokenHash;
use tessera_core::store::{
    CredentialFilter, CredentialStore, OwnedCredential, StoreError, StoreResult, Usage,
};

use super::principals::{PRINCIPAL_COLUMNS, principal_from_row};
use super::{SqliteStore, commit_error, insert_audit};
use crate::rows::{
    backend, conflict_or_backend, credential_id, from_ms, like_pattern, to_ms, user_id,
};

const CREDENTIAL_COLUMNS: &str = "c.id, c.kind, c.principal_id, c.name, c.description, c.token_hash, \
    c.created_at, c.lifetime_secs, c.expires_at, c.revoked_at, c.revoked_reason, c.last_used_at, c.last_used_ip";

fn credential_from_row(row: &SqliteRow) -> StoreResult<Credential> {
    let kind: String = row.try_get("kind").map_err(backend)?;
    let hash: Vec<u8> = row.try_get("token_hash").map_err(backend)?;
    let opt_ms = |c: &str| {
        row.try_get::<Option<i64>, _>(c)
            .map(|v| v.map(from_ms))
            .map_err(backend)
    };
    Ok(Credential {
        id: credential_id(&row.try_get::<String, _>("id").map_err(backend)?)?,
        kind: CredentialKind::from_storage(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown credential kind {kind:?}")))?,
        principal_id: user_id(&row.try_get::<String, _>("principal_id").map_err(backend)?)?,
        name: TokenName::from_trusted(row.try_get("name").map_err(backend)?),
        description: row.try_get("description").map_err(backend)?,
        hash: TokenHash::from_slice(&hash)
            .ok_or_else(|| StoreError::Backend("corrupt token hash".into()))?,
        created_at: from_ms(row.try_get("created_at").map_err(backend)?),
        lifetime_secs: row.try_get("lifetime_secs").map_err(backend)?,
        expires_at: opt_ms("expires_at")?,
        revoked_at: opt_ms("revoked_at")?,
        revoked_reason: row.try_get("revoked_reason").map_err(backend)?,
        last_used_at: opt_ms("last_used_at")?,
        last_used_ip: row.try_get("last_used_ip").map_err(backend)?,
    })
}

fn owned_from_row(row: &SqliteRow) -> StoreResult<OwnedCredential> {
    Ok(OwnedCredential {
        credential: credential_from_row(row)?,
        owner: principal_from_row(row)?,
    })
}

fn select() -> QueryBuilder<'static, Sqlite> {
    QueryBuilder::new(format!(
        "SELECT {CREDENTIAL_COLUMNS}, {PRINCIPAL_COLUMNS} FROM credentials c \
         JOIN principals p ON p.id = c.principal_id WHERE 1 = 1"
    ))
}

fn push_filter(qb: &mut QueryBuilder<'static, Sqlite>, filter: &CredentialFilter, now: Timestamp) {
    if let Some(kind) = filter.kind {
        qb.push(" AND c.kind = ").push_bind(kind.as_str());
    }
    if let Some(id) = filter.principal_id {
        qb.push(" AND c.principal_id = ").push_bind(id.to_string());
    }
    if let Some(name) = &filter.user_name {
        qb.push(" AND p.user_name = ")
            .push_bind(name.as_str().to_string());
    }
    if let Some(ids) = &filter.ids {
        if ids.is_empty() {
            qb.push(" AND 0");
        } else {
            qb.push(" AND c.id IN (");
            let mut list = qb.separated(", ");
            for id in ids {
                list.push_bind(id.to_string());
            }
            qb.push(")");
        }
    }
    if let Some(name) = &filter.name {
        qb.push(" AND c.name = ").push_bind(name.clone());
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.trim().is_empty()) {
        let pattern = like_pattern(search.trim());
        qb.push(" AND (c.name LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\'");
        qb.push(" OR p.user_name LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    let now_ms = to_ms(now);
    let soon_ms = to_ms(now + EXPIRING_SOON);
    match filter.status {
        None => {}
        Some(TokenStatus::Revoked) => {
            qb.push(" AND c.revoked_at IS NOT NULL");
        }
        Some(TokenStatus::Expired) => {
            qb.push(" AND c.revoked_at IS NULL AND c.expires_at <= ")
                .push_bind(now_ms);
        }
        Some(TokenStatus::ExpiringSoon) => {
            qb.push(" AND c.revoked_at IS NULL AND c.expires_at > ")
                .push_bind(now_ms);
            qb.push(" AND c.expires_at <= ").push_bind(soon_ms);
        }
        Some(TokenStatus::Active) => {
            qb.push(" AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > ")
                .push_bind(soon_ms)
                .push(")");
        }
    }
}

async fn matching_in_tx(
    tx: &mut Transaction<'_, Sqlite>,
    filter: &CredentialFilter,
    now: Timestamp,
    only_live: bool,
) -> StoreResult<Vec<OwnedCredential>> {
    let mut qb = select();
    push_filter(&mut qb, filter, now);
    if only_live {
        qb.push(" AND c.revoked_at IS NULL");
    }
    let rows = qb.build().fetch_all(&mut **tx).await.map_err(backend)?;
    rows.iter().map(owned_from_row).collect()
}

/// Revokes the live credentials matching `filter` inside `tx`, one audit entry each.
pub(super) async fn revoke_in_tx(
    tx: &mut Transaction<'_, Sqlite>,
    filter: &CredentialFilter,
    now: Timestamp,
    reason: &str,
    actor: &AuditActor,
) -> StoreResult<Vec<Credential>> {
    let targets = matching_in_tx(tx, filter, now, true).await?;
    let mut revoked = Vec::with_capacity(targets.len());
    for OwnedCredential {
        mut credential,
        owner,
    } in targets
    {
        sqlx::query("UPDATE credentials SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(to_ms(now))
            .bind(reason)
            .bind(credential.id.to_string())
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        credential.revoked_at = Some(now);
        credential.revoked_reason = Some(reason.to_string());
        let action = format!("{}.revoked", credential.kind.audit_noun());
        let audit = AuditEntry::about_credential(
            actor,
            now,
            &action,
            &credential,
            owner.user_name.as_str(),
        )
        .with_detail("reason", reason);
        insert_audit(tx, &audit).await?;
        revoked.push(credential);
    }
    Ok(revoked)
}

async fn insert_in_tx(tx: &mut Transaction<'_, Sqlite>, c: &Credential) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO credentials (id, kind, principal_id, name, description, token_hash, created_at,
                                  lifetime_secs, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(c.id.to_string())
    .bind(c.kind.as_str())
    .bind(c.principal_id.to_string())
    .bind(c.name.as_str())
    .bind(&c.description)
    .bind(c.hash.0.as_slice())
    .bind(to_ms(c.created_at))
    .bind(c.lifetime_secs)
    .bind(c.expires_at.map(to_ms))
    .execute(&mut **tx)
    .await
    .map_err(conflict_or_backend)?;
    Ok(())
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn insert_credential(
        &self,
        credential: &Credential,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        insert_in_tx(&mut tx, credential).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(commit_error)
    }

    async fn credential_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<OwnedCredential>> {
        let mut qb = select();
        qb.push(" AND c.token_hash = ").push_bind(hash.0.to_vec());
        qb.build()
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?
            .as_ref()
            .map(owned_from_row)
            .transpose()
    }

    async fn credential(&self, id: CredentialId) -> StoreResult<Option<OwnedCredential>> {
        let mut qb = select();
        qb.push(" AND c.id = ").push_bind(id.to_string());
        qb.build()
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?
            .as_ref()
            .map(owned_from_row)
            .transpose()
    }

    async fn list_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
    ) -> StoreResult<Vec<OwnedCredential>> {
        let mut qb = select();
        push_filter(&mut qb, filter, now);
        qb.push(" ORDER BY c.created_at DESC, c.id");
        if filter.limit > 0 {
            qb.push(" LIMIT ").push_bind(i64::from(filter.limit));
            qb.push(" OFFSET ").push_bind(i64::from(filter.offset));
        }
        let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
        rows.iter().map(owned_from_row).collect()
    }

    async fn revoke_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
        reason: &str,
        actor: &AuditActor,
    ) -> StoreResult<Vec<Credential>> {
        let mut tx = self.write_tx().await?;
        let revoked = revoke_in_tx(&mut tx, filter, now, reason, actor).await?;
        tx.commit().await.map_err(commit_error)?;
        Ok(revoked)
    }

    async fn delete_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<Vec<Credential>> {
        let mut tx = self.write_tx().await?;
        let targets = matching_in_tx(&mut tx, filter, now, false).await?;
        let mut deleted = Vec::with_capacity(targets.len());
        for OwnedCredential { credential, owner } in targets {
            sqlx::query("DELETE FROM credentials WHERE id = ?")
                .bind(credential.id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let action = format!("{}.deleted", credential.kind.audit_noun());
            let audit = AuditEntry::about_credential(
                actor,
                now,
                &action,
                &credential,
                owner.user_name.as_str(),
            );
            insert_audit(&mut tx, &audit).await?;
            deleted.push(credential);
        }
        tx.commit().await.map_err(commit_error)?;
        Ok(deleted)
    }

    async fn rotate_credential(
        &self,
        old: CredentialId,
        new: &Credential,
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<Option<Credential>> {
        let mut tx = self.write_tx().await?;
        let filter = CredentialFilter {
            ids: Some(vec![old]),
            ..CredentialFilter::default()
        };
        let Some(OwnedCredential {
            mut credential,
            owner,
        }) = matching_in_tx(&mut tx, &filter, now, true)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        if credential.expires_at.is_some_and(|at| at <= now) {
            return Ok(None);
        }
        sqlx::query("UPDATE credentials SET revoked_at = ?, revoked_reason = 'rotated', replaced_by = ? WHERE id = ?")
            .bind(to_ms(now))
            .bind(new.id.to_string())
            .bind(old.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_in_tx(&mut tx, new).await?;
        credential.revoked_at = Some(now);
        credential.revoked_reason = Some("rotated".into());
        let action = format!("{}.rotated", credential.kind.audit_noun());
        let audit = AuditEntry::about_credential(
            actor,
            now,
            &action,
            &credential,
            owner.user_name.as_str(),
        )
        .with_detail("newId", new.id.to_string())
        .with_detail("expiresAt", new.expires_at.map(|t| t.to_rfc3339()));
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(commit_error)?;
        Ok(Some(credential))
    }

    async fn replace_api_key(
        &self,
        new: &Credential,
        audit: &AuditEntry,
    ) -> StoreResult<Vec<Credential>> {
        let mut tx = self.write_tx().await?;
        let filter = CredentialFilter {
            kind: Some(CredentialKind::ApiKey),
            principal_id: Some(new.principal_id),
            ..CredentialFilter::default()
        };
        let old = matching_in_tx(&mut tx, &filter, new.created_at, false).await?;
        sqlx::query("DELETE FROM credentials WHERE kind = 'api_key' AND principal_id = ?")
            .bind(new.principal_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_in_tx(&mut tx, new).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(commit_error)?;
        Ok(old.into_iter().map(|o| o.credential).collect())
    }

    async fn record_usage(&self, batch: &[Usage]) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        for usage in batch {
            sqlx::query(
                "UPDATE credentials SET last_used_at = ?, last_used_ip = ?
                 WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
            )
            .bind(to_ms(usage.at))
            .bind(usage.ip.as_deref())
            .bind(usage.credential_id.to_string())
            .bind(to_ms(usage.at))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(commit_error)
    }
}
