//! Credentials (PATs, service-account tokens, API keys) and their usage, for every backend
//! (expanded by `sql_store!`).

macro_rules! sql_credentials {
    ($store:ident, $db:ty, $row:ty) => {
        mod credentials_sql {
            use async_trait::async_trait;
            use sqlx::{QueryBuilder, Row, Transaction};
            use tessera_core::audit::{AuditActor, AuditEntry};
            use tessera_core::ids::CredentialId;
            use tessera_core::model::{Credential, CredentialKind, EXPIRING_SOON, Timestamp, TokenStatus};
            use tessera_core::names::TokenName;
            use tessera_core::secret::TokenHash;
            use tessera_core::paging::Total;
            use tessera_core::store::{CredentialFilter, CredentialOrder, CredentialStore, OwnedCredential, StoreError, StoreResult, Usage};

            use super::$store;
            use super::paging_sql::{BUDGETED_FROM, BUDGETED_OPEN, budgeted_count, capped_count};
            use super::principals_sql::PRINCIPAL_COLUMNS;
            use crate::rows::{SearchRule, backend, conflict_or_backend, credential_id, from_ms, like_pattern, to_ms, user_id};

            const CREDENTIAL_COLUMNS: &str = "c.id, c.kind, c.principal_id, c.name, c.description, c.token_hash, \
                c.created_at, c.lifetime_secs, c.expires_at, c.revoked_at, c.revoked_reason, c.last_used_at, c.last_used_ip";

            fn select() -> QueryBuilder<'static, $db> {
                QueryBuilder::new(format!(
                    "SELECT {CREDENTIAL_COLUMNS}, {PRINCIPAL_COLUMNS} FROM credentials c \
                     JOIN principals p ON p.id = c.principal_id WHERE 1 = 1"
                ))
            }

            fn credential_from_row(row: &$row) -> StoreResult<Credential> {
                let kind: String = row.try_get("kind").map_err(backend)?;
                let hash: Vec<u8> = row.try_get("token_hash").map_err(backend)?;
                let opt_ms = |c: &str| row.try_get::<Option<i64>, _>(c).map(|v| v.map(from_ms)).map_err(backend);
                Ok(Credential {
                    id: credential_id(&row.try_get::<String, _>("id").map_err(backend)?)?,
                    kind: CredentialKind::from_storage(&kind)
                        .ok_or_else(|| StoreError::Backend(format!("unknown credential kind {kind:?}")))?,
                    principal_id: user_id(&row.try_get::<String, _>("principal_id").map_err(backend)?)?,
                    name: TokenName::from_trusted(row.try_get("name").map_err(backend)?),
                    description: row.try_get("description").map_err(backend)?,
                    hash: TokenHash::from_slice(&hash).ok_or_else(|| StoreError::Backend("corrupt token hash".into()))?,
                    created_at: from_ms(row.try_get("created_at").map_err(backend)?),
                    lifetime_secs: row.try_get("lifetime_secs").map_err(backend)?,
                    expires_at: opt_ms("expires_at")?,
                    revoked_at: opt_ms("revoked_at")?,
                    revoked_reason: row.try_get("revoked_reason").map_err(backend)?,
                    last_used_at: opt_ms("last_used_at")?,
                    last_used_ip: row.try_get("last_used_ip").map_err(backend)?,
                })
            }

            /// The first credential `qb` finds, with its owner; `None` when it finds none.
            async fn first_owned(mut qb: QueryBuilder<'static, $db>, pool: &sqlx::Pool<$db>) -> StoreResult<Option<OwnedCredential>> {
                qb.build().fetch_optional(pool).await.map_err(backend)?.as_ref().map(owned_from_row).transpose()
            }

            fn owned_from_row(row: &$row) -> StoreResult<OwnedCredential> {
                Ok(OwnedCredential {
                    credential: credential_from_row(row)?,
                    owner: $store::principal_from_row(row)?,
                })
            }

            fn push_filter(qb: &mut QueryBuilder<'static, $db>, filter: &CredentialFilter, now: Timestamp, counting: bool) {
                let search = SearchRule::of(filter.search.as_deref());
                if let Some(kind) = filter.kind {
                    // While searching, the search index leads, not the order of the kind's index.
                    let column = if search.is_some() { $store::SEARCH_KIND_COLUMN } else { "c.kind" };
                    qb.push(format!(" AND {column} = ")).push_bind(kind.as_str());
                }
                if let Some(id) = filter.principal_id {
                    qb.push(" AND c.principal_id = ").push_bind(id.to_string());
                }
                if let Some(name) = &filter.user_name {
                    qb.push(" AND p.user_name = ").push_bind(name.as_str().to_string());
                }
                if let Some(ids) = &filter.ids {
                    if ids.is_empty() {
                        qb.push(" AND 1 = 0");
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
                if let Some(rule) = &search {
                    $store::push_credential_search(qb, rule);
                }
                let now_ms = to_ms(now);
                let soon_ms = to_ms(now + EXPIRING_SOON);
                // Listing after a cursor, the cursor's row value starts the index range; the bound
                // at `now` on the same side stays a condition, checked on the rows read.
                let now_bound = if filter.after.is_some() && !counting { $store::CURSOR_LED_EXPIRY_COLUMN } else { "c.expires_at" };
                match filter.status {
                    None => {}
                    Some(TokenStatus::Revoked) => {
                        qb.push(" AND c.revoked_at IS NOT NULL");
                    }
                    Some(TokenStatus::Expired) => {
                        qb.push(format!(" AND c.revoked_at IS NULL AND {now_bound} <= ")).push_bind(now_ms);
                    }
                    Some(TokenStatus::ExpiringSoon) => {
                        qb.push(format!(" AND c.revoked_at IS NULL AND {now_bound} > ")).push_bind(now_ms);
                        qb.push(" AND c.expires_at <= ").push_bind(soon_ms);
                    }
                    // Counting, a plain range of the expiry index: PATs always expire (SPEC
                    // section 2). Listing, the created-order index leads, the expiry a filter.
                    Some(TokenStatus::Active) if counting && filter.kind == Some(CredentialKind::Pat) => {
                        qb.push(" AND c.revoked_at IS NULL AND c.expires_at > ").push_bind(soon_ms);
                    }
                    Some(TokenStatus::Active) => {
                        qb.push(" AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > ")
                            .push_bind(soon_ms)
                            .push(")");
                    }
                }
            }

            /// Keyset order of a listing: the column `filter.order()` sorts by, then id; a cursor
            /// becomes a row-value comparison that the matching index turns into a seek.
            fn push_order(qb: &mut QueryBuilder<'static, $db>, filter: &CredentialFilter) {
                let (column, descending) = match filter.order() {
                    CredentialOrder::NewestFirst => ("c.created_at", true),
                    CredentialOrder::LatestExpiryFirst => ("c.expires_at", true),
                    CredentialOrder::SoonestExpiryFirst => ("c.expires_at", false),
                };
                let (direction, before) = if descending { ("DESC", "<") } else { ("ASC", ">") };
                if let Some(after) = &filter.after {
                    qb.push(format!(" AND ({column}, c.id) {before} ("))
                        .push_bind(after.key.as_int().unwrap_or_default())
                        .push(", ")
                        .push_bind(after.tie.as_text().unwrap_or_default().to_string())
                        .push(")");
                }
                qb.push(format!(" ORDER BY {column} {direction}, c.id {direction}"));
            }

            /// The order a capped count of `filter` reads its rows in: that of the status's
            /// partial index, so that the count stops after `COUNT_CAP + 1` entries of it. Without
            /// it, PostgreSQL weighed a sequential scan that stops as early (rows of each status
            /// are spread evenly) but read every row in between (#19). `None` when another filter
            /// (owner, search, names, ids) has an index of its own to lead, or no kind is given.
            fn count_order(filter: &CredentialFilter) -> Option<&'static str> {
                // Every partial index leads with the kind: without one, no index gives an order.
                let led_elsewhere = filter.kind.is_none()
                    || filter.principal_id.is_some()
                    || filter.user_name.is_some()
                    || filter.ids.is_some()
                    || filter.name.is_some()
                    || SearchRule::of(filter.search.as_deref()).is_some();
                if led_elsewhere {
                    return None;
                }
                match filter.status? {
                    TokenStatus::Expired | TokenStatus::ExpiringSoon => Some("c.expires_at"),
                    TokenStatus::Active if filter.kind == Some(CredentialKind::Pat) => Some("c.expires_at"),
                    TokenStatus::Active | TokenStatus::Revoked => Some("c.created_at"),
                }
            }

            async fn matching_in_tx(
                tx: &mut Transaction<'_, $db>,
                filter: &CredentialFilter,
                now: Timestamp,
                only_live: bool,
            ) -> StoreResult<Vec<OwnedCredential>> {
                let mut qb = select();
                push_filter(&mut qb, filter, now, false);
                if only_live {
                    qb.push(" AND c.revoked_at IS NULL");
                }
                // One order for every writer: concurrent bulk changes cannot deadlock.
                qb.push(" ORDER BY c.id");
                let rows = qb.build().fetch_all(&mut **tx).await.map_err(backend)?;
                rows.iter().map(owned_from_row).collect()
            }

            async fn insert_in_tx(tx: &mut Transaction<'_, $db>, c: &Credential) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO credentials (id, kind, principal_id, name, description, token_hash, created_at,
                                              lifetime_secs, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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

            impl $store {
                /// Revokes the live credentials matching `filter` inside `tx`, one audit entry each.
                pub(crate) async fn revoke_in_tx(
                    tx: &mut Transaction<'_, $db>,
                    filter: &CredentialFilter,
                    now: Timestamp,
                    reason: &str,
                    actor: &AuditActor,
                ) -> StoreResult<Vec<Credential>> {
                    let targets = matching_in_tx(tx, filter, now, true).await?;
                    let mut revoked = Vec::with_capacity(targets.len());
                    for OwnedCredential { mut credential, owner } in targets {
                        let changed = sqlx::query(
                            "UPDATE credentials SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL",
                        )
                        .bind(to_ms(now))
                        .bind(reason)
                        .bind(credential.id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(backend)?;
                        if changed.rows_affected() == 0 {
                            continue;
                        }
                        credential.revoked_at = Some(now);
                        credential.revoked_reason = Some(reason.to_string());
                        let action = format!("{}.revoked", credential.kind.audit_noun());
                        let audit = AuditEntry::about_credential(actor, now, &action, &credential, owner.user_name.as_str())
                            .with_detail("reason", reason);
                        Self::insert_audit(tx, &audit).await?;
                        revoked.push(credential);
                    }
                    Ok(revoked)
                }
            }

            #[async_trait]
            impl CredentialStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_credential(&self, credential: &Credential, audit: &AuditEntry) -> StoreResult<()> {
                    write_tx!(self, audit = audit, |tx| {
                        insert_in_tx(&mut tx, credential).await?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn live_credential_by_hash(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<Option<OwnedCredential>> {
                    let mut qb = select();
                    qb.push(" AND c.token_hash = ").push_bind(hash.0.to_vec());
                    qb.push(" AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > ").push_bind(to_ms(now)).push(")");
                    first_owned(qb, self.pool()).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn credential(&self, id: CredentialId) -> StoreResult<Option<OwnedCredential>> {
                    let mut qb = select();
                    qb.push(" AND c.id = ").push_bind(id.to_string());
                    first_owned(qb, self.pool()).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_credentials(&self, filter: &CredentialFilter, now: Timestamp) -> StoreResult<Vec<OwnedCredential>> {
                    let mut qb = select();
                    push_filter(&mut qb, filter, now, false);
                    push_order(&mut qb, filter);
                    if filter.limit > 0 {
                        qb.push(" LIMIT ").push_bind(i64::from(filter.limit));
                        qb.push(" OFFSET ").push_bind(i64::from(filter.offset));
                    }
                    let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                    rows.iter().map(owned_from_row).collect()
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn count_credentials(&self, filter: &CredentialFilter, now: Timestamp) -> StoreResult<Total> {
                    // A substring search counts within a budget of candidates (see
                    // `budgeted_count`): those of the name index, then those of the owner's name
                    // index, whose matches count only when the name does not match (counted in the
                    // first arm), so that no token counts twice.
                    if let Some(SearchRule::Substring(text)) = SearchRule::of(filter.search.as_deref()) {
                        let rest = CredentialFilter { after: None, search: None, ..filter.clone() };
                        let like = like_pattern(&text);
                        let mut qb = QueryBuilder::<$db>::new(BUDGETED_OPEN);
                        push_filter(&mut qb, &rest, now, true);
                        qb.push(" AND c.name LIKE ").push_bind(like.clone()).push(" ESCAPE '\\'");
                        qb.push(BUDGETED_FROM);
                        $store::push_credential_name_candidates(&mut qb, &text);
                        qb.push(" UNION ALL SELECT CASE WHEN 1 = 1");
                        push_filter(&mut qb, &rest, now, true);
                        qb.push(" AND p.user_name LIKE ").push_bind(like.clone()).push(" ESCAPE '\\'");
                        qb.push(" AND NOT (c.name LIKE ").push_bind(like).push(" ESCAPE '\\')");
                        qb.push(BUDGETED_FROM);
                        $store::push_credential_owner_candidates(&mut qb, &text);
                        return budgeted_count(qb, self.pool()).await;
                    }
                    // The owner is joined only when a filter reads it: counting reads index entries.
                    let needs_owner = filter.user_name.is_some() || SearchRule::of(filter.search.as_deref()).is_some();
                    let mut qb = QueryBuilder::<$db>::new(if needs_owner {
                        "SELECT count(*) FROM (SELECT 1 FROM credentials c JOIN principals p ON p.id = c.principal_id WHERE 1 = 1"
                    } else {
                        "SELECT count(*) FROM (SELECT 1 FROM credentials c WHERE 1 = 1"
                    });
                    push_filter(&mut qb, &CredentialFilter { after: None, ..filter.clone() }, now, true);
                    if let Some(column) = count_order(filter) {
                        qb.push(format!(" ORDER BY {column}"));
                    }
                    capped_count(qb, self.pool()).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn revoke_credentials(&self, filter: &CredentialFilter, now: Timestamp, reason: &str, actor: &AuditActor) -> StoreResult<Vec<Credential>> {
                    write_tx!(self, |tx| {
                        let revoked = Self::revoke_in_tx(&mut tx, filter, now, reason, actor).await?;
                        Ok(revoked)
                    })
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn delete_credentials(&self, filter: &CredentialFilter, now: Timestamp, actor: &AuditActor) -> StoreResult<Vec<Credential>> {
                    write_tx!(self, |tx| {
                        let targets = matching_in_tx(&mut tx, filter, now, false).await?;
                        let mut deleted = Vec::with_capacity(targets.len());
                        for OwnedCredential { credential, owner } in targets {
                            let gone = sqlx::query("DELETE FROM credentials WHERE id = $1")
                                .bind(credential.id.to_string())
                                .execute(&mut *tx)
                                .await
                                .map_err(backend)?;
                            if gone.rows_affected() == 0 {
                                continue;
                            }
                            let action = format!("{}.deleted", credential.kind.audit_noun());
                            let audit = AuditEntry::about_credential(actor, now, &action, &credential, owner.user_name.as_str());
                            Self::insert_audit(&mut tx, &audit).await?;
                            deleted.push(credential);
                        }
                        Ok(deleted)
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(old = %old))]
                async fn rotate_credential(&self, old: CredentialId, new: &Credential, now: Timestamp, actor: &AuditActor) -> StoreResult<Option<Credential>> {
                    write_tx!(self, |tx| {
                        let filter = CredentialFilter {
                            ids: Some(vec![old]),
                            ..CredentialFilter::default()
                        };
                        let Some(OwnedCredential { mut credential, owner }) = matching_in_tx(&mut tx, &filter, now, true).await?.into_iter().next() else {
                            return Ok(None);
                        };
                        if credential.expires_at.is_some_and(|at| at <= now) {
                            return Ok(None);
                        }
                        // Only one rotation of a token can win: the loser finds it revoked.
                        let changed = sqlx::query(
                            "UPDATE credentials SET revoked_at = $1, revoked_reason = 'rotated', replaced_by = $2
                             WHERE id = $3 AND revoked_at IS NULL",
                        )
                        .bind(to_ms(now))
                        .bind(new.id.to_string())
                        .bind(old.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                        if changed.rows_affected() == 0 {
                            return Ok(None);
                        }
                        insert_in_tx(&mut tx, new).await?;
                        credential.revoked_at = Some(now);
                        credential.revoked_reason = Some("rotated".into());
                        let action = format!("{}.rotated", credential.kind.audit_noun());
                        let audit = AuditEntry::about_credential(actor, now, &action, &credential, owner.user_name.as_str())
                            .with_detail("newId", new.id.to_string())
                            .with_detail("expiresAt", new.expires_at.map(|t| t.to_rfc3339()));
                        Self::insert_audit(&mut tx, &audit).await?;
                        Ok(Some(credential))
                    })
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn replace_api_key(&self, new: &Credential, audit: &AuditEntry) -> StoreResult<Vec<Credential>> {
                    write_tx!(self, audit = audit, |tx| {
                        let filter = CredentialFilter {
                            kind: Some(CredentialKind::ApiKey),
                            principal_id: Some(new.principal_id),
                            ..CredentialFilter::default()
                        };
                        let old = matching_in_tx(&mut tx, &filter, new.created_at, false).await?;
                        sqlx::query("DELETE FROM credentials WHERE kind = 'api_key' AND principal_id = $1")
                            .bind(new.principal_id.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                        insert_in_tx(&mut tx, new).await?;
                        Ok(old.into_iter().map(|o| o.credential).collect())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn record_usage(&self, batch: &[Usage]) -> StoreResult<()> {
                    write_tx!(self, |tx| {
                        for usage in batch {
                            sqlx::query(
                                "UPDATE credentials SET last_used_at = $1, last_used_ip = $2
                                 WHERE id = $3 AND (last_used_at IS NULL OR last_used_at < $1)",
                            )
                            .bind(to_ms(usage.at))
                            .bind(usage.ip.as_deref())
                            .bind(usage.credential_id.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                        }
                        Ok(())
                    })
                }
            }
        }
    };
}
