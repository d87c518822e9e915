//! Organizations and their members, for every backend (expanded by `sql_store!`).

macro_rules! sql_organizations {
    ($store:ident, $db:ty, $row:ty) => {
        mod organizations_sql {
            use async_trait::async_trait;
            use sqlx::{QueryBuilder, Row};
            use tessera_core::paging::{PageQuery, Total};
            use tessera_core::audit::AuditEntry;
            use tessera_core::ids::{OrganizationId, UserId};
            use tessera_core::names::UserName;
            use tessera_core::store::{Organization, OrganizationStore, StoreError, StoreResult};

            use super::$store;
            use super::paging_sql::capped_count;
            use crate::rows::{backend, conflict_or_backend, from_ms, to_ms, user_id};

            fn org_id(s: &str) -> StoreResult<OrganizationId> {
                OrganizationId::parse(s).ok_or_else(|| StoreError::Backend(format!("corrupt organization id {s:?}")))
            }

            impl $store {
                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn members(&self, id: OrganizationId) -> StoreResult<Vec<(UserId, UserName)>> {
                    let rows = sqlx::query(
                        "SELECT p.id, p.user_name FROM organization_members m JOIN principals p ON p.id = m.user_id
                         WHERE m.organization_id = $1 ORDER BY p.user_name",
                    )
                    .bind(id.to_string())
                    .fetch_all(self.pool())
                    .await
                    .map_err(backend)?;
                    rows.iter()
                        .map(|r| {
                            Ok((
                                user_id(&r.try_get::<String, _>("id").map_err(backend)?)?,
                                UserName::from_trusted(r.try_get("user_name").map_err(backend)?),
                            ))
                        })
                        .collect()
                }

                #[tracing::instrument(level = "debug", skip_all, fields(org = %org, user = %user))]
                /// An administrator's change of a membership, which from then on is theirs: a
                /// sign-in's group sync no longer adds or removes it (its `sso_memberships`
                /// record goes, in the same transaction).
                async fn change_member(&self, sql: &'static str, org: OrganizationId, user: UserId, audit: &AuditEntry) -> StoreResult<bool> {
                    write_tx!(self, |tx| {
                        let changed = sqlx::query(sql)
                            .bind(org.to_string())
                            .bind(user.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?
                            .rows_affected()
                            > 0;
                        // The membership is the administrator's only when this call made (or
                        // removed) it: an add refused as "already a member" changes nothing, so
                        // a membership the provider made stays the provider's (found by the fifth
                        // review of #17: a 409 made it permanent).
                        if changed {
                            sqlx::query("DELETE FROM sso_memberships WHERE organization_id = $1 AND user_id = $2")
                                .bind(org.to_string())
                                .bind(user.to_string())
                                .execute(&mut *tx)
                                .await
                                .map_err(backend)?;
                        }
                        Self::audit_if(&mut tx, changed, audit).await
                    })
                }

                async fn organization_from(&self, id: OrganizationId, row: &$row) -> StoreResult<Organization> {
                    Ok(Organization {
                        id,
                        name: row.try_get("name").map_err(backend)?,
                        created_at: from_ms(row.try_get("created_at").map_err(backend)?),
                        members: self.members(id).await?,
                    })
                }
            }

            #[async_trait]
            impl OrganizationStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_organization(&self, org: &Organization, audit: &AuditEntry) -> StoreResult<()> {
                    write_tx!(self, audit = audit, |tx| {
                        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
                            .bind(org.id.to_string())
                            .bind(&org.name)
                            .bind(to_ms(org.created_at))
                            .execute(&mut *tx)
                            .await
                            .map_err(conflict_or_backend)?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn organizations(&self) -> StoreResult<Vec<Organization>> {
                    let rows = sqlx::query("SELECT id, name, created_at FROM organizations ORDER BY name")
                        .fetch_all(self.pool())
                        .await
                        .map_err(backend)?;
                    let mut out = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let id = org_id(&row.try_get::<String, _>("id").map_err(backend)?)?;
                        out.push(self.organization_from(id, row).await?);
                    }
                    Ok(out)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn organization_by_name(&self, name: &str) -> StoreResult<Option<Organization>> {
                    // `lower` is ASCII-only on SQLite and Unicode-aware on PostgreSQL: the index
                    // narrows to a few candidates, the ASCII comparison below decides alike on both.
                    let rows = sqlx::query(
                        "SELECT id, name, created_at FROM organizations WHERE lower(name) = lower($1)
                         ORDER BY CASE WHEN name = $1 THEN 0 ELSE 1 END, name LIMIT 100",
                    )
                    .bind(name)
                    .fetch_all(self.pool())
                    .await
                    .map_err(backend)?;
                    for row in &rows {
                        let found: String = row.try_get("name").map_err(backend)?;
                        if found.eq_ignore_ascii_case(name) {
                            let id = org_id(&row.try_get::<String, _>("id").map_err(backend)?)?;
                            return self.organization_from(id, row).await.map(Some);
                        }
                    }
                    Ok(None)
                }

                async fn organization_page(&self, page: &PageQuery) -> StoreResult<Vec<Organization>> {
                    let mut qb = QueryBuilder::<$db>::new("SELECT id, name, created_at FROM organizations WHERE 1 = 1");
                    // Names are unique: the name alone places a row, and the unique index
                    // gives the order.
                    if let Some(after) = &page.after {
                        qb.push(" AND name > ").push_bind(after.key.as_text().unwrap_or_default().to_string());
                    }
                    qb.push(" ORDER BY name LIMIT ").push_bind(i64::from(page.limit.max(1)));
                    qb.push(" OFFSET ").push_bind(i64::from(page.offset));
                    let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                    let mut out = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let id = org_id(&row.try_get::<String, _>("id").map_err(backend)?)?;
                        out.push(self.organization_from(id, row).await?);
                    }
                    Ok(out)
                }

                async fn count_organizations(&self) -> StoreResult<Total> {
                    capped_count(QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM organizations"), self.pool()).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn organization(&self, id: OrganizationId) -> StoreResult<Option<Organization>> {
                    let row = sqlx::query("SELECT name, created_at FROM organizations WHERE id = $1")
                        .bind(id.to_string())
                        .fetch_optional(self.pool())
                        .await
                        .map_err(backend)?;
                    match row {
                        None => Ok(None),
                        Some(row) => self.organization_from(id, &row).await.map(Some),
                    }
                }

                #[tracing::instrument(level = "debug", skip_all, fields(org = %org, user = %user))]
                async fn add_member(&self, org: OrganizationId, user: UserId, audit: &AuditEntry) -> StoreResult<bool> {
                    self.change_member(
                        "INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        org,
                        user,
                        audit,
                    )
                    .await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(org = %org, user = %user))]
                async fn remove_member(&self, org: OrganizationId, user: UserId, audit: &AuditEntry) -> StoreResult<bool> {
                    self.change_member("DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2", org, user, audit)
                        .await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
                async fn organization_names_of(&self, user: UserId) -> StoreResult<Vec<String>> {
                    sqlx::query_scalar(
                        "SELECT o.name FROM organization_members m JOIN organizations o ON o.id = m.organization_id
                         WHERE m.user_id = $1 ORDER BY o.name",
                    )
                    .bind(user.to_string())
                    .fetch_all(self.pool())
                    .await
                    .map_err(backend)
                }
            }
        }
    };
}
