//! Users and service accounts, for every backend (expanded by `sql_store!`).

macro_rules! sql_principals {
    ($store:ident, $db:ty, $row:ty) => {
        mod principals_sql {
            use async_trait::async_trait;
            use sqlx::{QueryBuilder, Row};
            use tessera_core::audit::{AuditActor, AuditEntry};
            use tessera_core::ids::UserId;
            use tessera_core::model::{Credential, CredentialKind, PrincipalKind, Timestamp, User, UserStatus};
            use tessera_core::names::{Email, UserName};
            use tessera_core::roles::RoleSet;
            use tessera_core::store::{CredentialFilter, PrincipalQuery, PrincipalStore, ProfilePatch, StoreResult};

            use super::$store;
            use super::paging_sql::{BUDGETED_FROM, BUDGETED_OPEN, budgeted_count, capped_count_planned};
            use crate::rows::{SearchRule, backend, conflict_or_backend, from_ms, like_pattern, to_ms, user_id};
            use tessera_core::paging::Total;

            pub(crate) const PRINCIPAL_COLUMNS: &str = "p.id AS p_id, p.kind AS p_kind, p.user_name AS p_user_name, \
                p.email AS p_email, p.first_name AS p_first_name, p.last_name AS p_last_name, \
                p.description AS p_description, p.roles AS p_roles, p.status AS p_status, \
                p.created_at AS p_created_at, p.created_by AS p_created_by, \
                p.tokens_not_before AS p_tokens_not_before";

            /// The kind and search of a principal listing (see `SearchRule`).
            /// A substring search tests the kind on `$store::SEARCH_PRINCIPAL_KIND_COLUMN`, so that
            /// the search's matches, not the kind's name order, lead the plan.
            fn push_principal_filter(qb: &mut QueryBuilder<'static, $db>, query: &PrincipalQuery) {
                let rule = SearchRule::of(query.search.as_deref());
                if let Some(kind) = query.kind {
                    let column = match rule {
                        Some(SearchRule::Substring(_)) => $store::SEARCH_PRINCIPAL_KIND_COLUMN,
                        _ => "p.kind",
                    };
                    qb.push(format!(" AND {column} = ")).push_bind(kind.as_str());
                }
                if let Some(rule) = rule {
                    $store::push_principal_search(qb, &rule);
                }
            }

            impl $store {
                pub(crate) fn principal_from_row(row: &$row) -> StoreResult<User> {
                    let get_s = |c: &str| row.try_get::<String, _>(c).map_err(backend);
                    let created_by: Option<String> = row.try_get("p_created_by").map_err(backend)?;
                    let email: Option<String> = row.try_get("p_email").map_err(backend)?;
                    Ok(User {
                        id: user_id(&get_s("p_id")?)?,
                        kind: PrincipalKind::from_storage(&get_s("p_kind")?),
                        user_name: UserName::from_trusted(get_s("p_user_name")?),
                        email: email.map(Email::from_trusted),
                        first_name: get_s("p_first_name")?,
                        last_name: get_s("p_last_name")?,
                        description: get_s("p_description")?,
                        roles: RoleSet::from_storage(&get_s("p_roles")?),
                        status: UserStatus::from_storage(&get_s("p_status")?),
                        created_at: from_ms(row.try_get("p_created_at").map_err(backend)?),
                        created_by: created_by.as_deref().and_then(UserId::parse),
                        tokens_not_before: row
                            .try_get::<Option<i64>, _>("p_tokens_not_before")
                            .map_err(backend)?
                            .map(from_ms),
                    })
                }

                pub(crate) async fn fetch_principal(&self, column: &str, value: String) -> StoreResult<Option<User>> {
                    let sql = format!("SELECT {PRINCIPAL_COLUMNS} FROM principals p WHERE p.{column} = $1");
                    sqlx::query(&sql)
                        .bind(value)
                        .fetch_optional(self.pool())
                        .await
                        .map_err(backend)?
                        .as_ref()
                        .map(Self::principal_from_row)
                        .transpose()
                }

                pub(crate) async fn principal_in_tx(
                    tx: &mut sqlx::Transaction<'_, $db>,
                    id: UserId,
                ) -> StoreResult<Option<User>> {
                    let sql = format!("SELECT {PRINCIPAL_COLUMNS} FROM principals p WHERE p.id = $1");
                    sqlx::query(&sql)
                        .bind(id.to_string())
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(backend)?
                        .as_ref()
                        .map(Self::principal_from_row)
                        .transpose()
                }
            }

            #[async_trait]
            impl PrincipalStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_principal(&self, user: &User, password_hash: Option<&str>, audit: &AuditEntry) -> StoreResult<()> {
                    write_tx!(self, audit = audit, |tx| {
                        sqlx::query(
                            "INSERT INTO principals (id, kind, user_name, email, first_name, last_name, description,
                                                     roles, status, password_hash, created_at, created_by)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        )
                        .bind(user.id.to_string())
                        .bind(user.kind.as_str())
                        .bind(user.user_name.as_str())
                        .bind(user.email.as_ref().map(|e| e.as_str().to_string()))
                        .bind(&user.first_name)
                        .bind(&user.last_name)
                        .bind(&user.description)
                        .bind(user.roles.to_storage())
                        .bind(user.status.as_str())
                        .bind(password_hash)
                        .bind(to_ms(user.created_at))
                        .bind(user.created_by.map(|id| id.to_string()))
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict_or_backend)?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn principal(&self, id: UserId) -> StoreResult<Option<User>> {
                    self.fetch_principal("id", id.to_string()).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn principal_by_name(&self, name: &UserName) -> StoreResult<Option<User>> {
                    self.fetch_principal("user_name", name.as_str().to_string()).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_principals(&self, query: &PrincipalQuery) -> StoreResult<Vec<User>> {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {PRINCIPAL_COLUMNS} FROM principals p WHERE 1 = 1"));
                    push_principal_filter(&mut qb, query);
                    if let Some(after) = &query.after {
                        qb.push(" AND (p.user_name, p.id) > (")
                            .push_bind(after.key.as_text().unwrap_or_default().to_string())
                            .push(", ")
                            .push_bind(after.tie.as_text().unwrap_or_default().to_string())
                            .push(")");
                    }
                    qb.push(" ORDER BY p.user_name, p.id");
                    qb.push(" LIMIT ").push_bind(i64::from(query.limit.max(1)));
                    qb.push(" OFFSET ").push_bind(i64::from(query.offset));
                    // A search is planned for its text each time: PostgreSQL turns a cached
                    // statement into a generic plan after five runs, and the generic plan of
                    // `LIKE $n`, blind to the pattern, walks every principal in name order
                    // instead of the trigram indexes (issue 19).
                    let rows = qb
                        .build()
                        .persistent(query.search.is_none())
                        .fetch_all(self.pool())
                        .await
                        .map_err(backend)?;
                    rows.iter().map(Self::principal_from_row).collect()
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn count_matching_principals(&self, query: &PrincipalQuery) -> StoreResult<Total> {
                    // A substring search counts within a budget of candidates (see `budgeted_count`).
                    if let Some(SearchRule::Substring(text)) = SearchRule::of(query.search.as_deref()) {
                        let mut qb = QueryBuilder::<$db>::new(BUDGETED_OPEN);
                        if let Some(kind) = query.kind {
                            qb.push(" AND p.kind = ").push_bind(kind.as_str());
                        }
                        crate::sqlite::push_principal_recheck(&mut qb, like_pattern(&text));
                        qb.push(BUDGETED_FROM);
                        $store::push_principal_candidates(&mut qb, &text);
                        return budgeted_count(qb, self.pool()).await;
                    }
                    let mut qb = QueryBuilder::<$db>::new("SELECT count(*) FROM (SELECT 1 FROM principals p WHERE 1 = 1");
                    push_principal_filter(&mut qb, query);
                    capped_count_planned(qb, self.pool(), query.search.is_none()).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn count_principals(&self) -> StoreResult<u64> {
                    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM principals")
                        .fetch_one(self.pool())
                        .await
                        .map_err(backend)?;
                    Ok(u64::try_from(n).unwrap_or(0))
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn update_profile(&self, id: UserId, patch: &ProfilePatch, audit: &AuditEntry) -> StoreResult<Option<User>> {
                    write_tx!(self, |tx| {
                        let updated = sqlx::query(
                            "UPDATE principals SET email = coalesce($1, email), first_name = coalesce($2, first_name),
                                    last_name = coalesce($3, last_name), description = coalesce($4, description)
                             WHERE id = $5",
                        )
                        .bind(patch.email.as_ref().map(|e| e.as_str().to_string()))
                        .bind(patch.first_name.as_deref())
                        .bind(patch.last_name.as_deref())
                        .bind(patch.description.as_deref())
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict_or_backend)?;
                        if updated.rows_affected() == 0 {
                            return Ok(None);
                        }
                        Self::insert_audit(&mut tx, audit).await?;
                        let user = Self::principal_in_tx(&mut tx, id).await?;
                        Ok(user)
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn set_roles(&self, id: UserId, roles: &RoleSet, now: Timestamp, actor: &AuditActor) -> StoreResult<Option<(User, Vec<Credential>)>> {
                    write_tx!(self, |tx| {
                        let Some(before) = Self::principal_in_tx(&mut tx, id).await? else {
                            return Ok(None);
                        };
                        if before.roles == *roles {
                            return Ok(Some((before, Vec::new())));
                        }
                        sqlx::query("UPDATE principals SET roles = $1, tokens_not_before = $2 WHERE id = $3")
                            .bind(roles.to_storage())
                            .bind(to_ms(now))
                            .bind(id.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                        let audit = AuditEntry::about_user(actor, now, "user.roles-changed", &before)
                            .with_detail("from", before.roles.to_storage())
                            .with_detail("to", roles.to_storage());
                        Self::insert_audit(&mut tx, &audit).await?;
                        let pats = CredentialFilter {
                            kind: Some(CredentialKind::Pat),
                            principal_id: Some(id),
                            ..CredentialFilter::default()
                        };
                        let revoked = Self::revoke_in_tx(&mut tx, &pats, now, "roles-changed", actor).await?;
                        let after = Self::principal_in_tx(&mut tx, id).await?;
                        Ok(after.map(|u| (u, revoked)))
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn set_active(&self, id: UserId, active: bool, now: Timestamp, actor: &AuditActor) -> StoreResult<Option<(User, Vec<Credential>)>> {
                    write_tx!(self, |tx| {
                        let Some(before) = Self::principal_in_tx(&mut tx, id).await? else {
                            return Ok(None);
                        };
                        let status = if active { UserStatus::Active } else { UserStatus::Deactivated };
                        if before.status == status {
                            return Ok(Some((before, Vec::new())));
                        }
                        sqlx::query(
                            "UPDATE principals SET status = $1, tokens_not_before = coalesce($2, tokens_not_before) WHERE id = $3",
                        )
                        .bind(status.as_str())
                        .bind((!active).then(|| to_ms(now)))
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                        let action = if active { "activated" } else { "deactivated" };
                        let noun = match before.kind {
                            PrincipalKind::User => "user",
                            PrincipalKind::ServiceAccount => "service-account",
                        };
                        Self::insert_audit(&mut tx, &AuditEntry::about_user(actor, now, &format!("{noun}.{action}"), &before)).await?;
                        let revoked = if active {
                            Vec::new()
                        } else {
                            let all = CredentialFilter {
                                principal_id: Some(id),
                                ..CredentialFilter::default()
                            };
                            Self::revoke_in_tx(&mut tx, &all, now, &format!("{noun}-deactivated"), actor).await?
                        };
                        let after = Self::principal_in_tx(&mut tx, id).await?;
                        Ok(after.map(|u| (u, revoked)))
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn set_password_hash(&self, id: UserId, hash: &str, audit: &AuditEntry) -> StoreResult<bool> {
                    write_tx!(self, audit = audit, |tx| {
                        let updated = sqlx::query("UPDATE principals SET password_hash = $1 WHERE id = $2 AND kind = 'user'")
                            .bind(hash)
                            .bind(id.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                        if updated.rows_affected() == 0 {
                            return Ok(false);
                        }
                        Ok(true)
                    })
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn password_hash(&self, name: &UserName) -> StoreResult<Option<(User, Option<String>)>> {
                    let sql = format!("SELECT {PRINCIPAL_COLUMNS}, p.password_hash FROM principals p WHERE p.user_name = $1");
                    let row = sqlx::query(&sql)
                        .bind(name.as_str())
                        .fetch_optional(self.pool())
                        .await
                        .map_err(backend)?;
                    match row {
                        Some(row) => Ok(Some((Self::principal_from_row(&row)?, row.try_get("password_hash").map_err(backend)?))),
                        None => Ok(None),
                    }
                }
            }
        }
    };
}
