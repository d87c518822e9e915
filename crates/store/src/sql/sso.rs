//! Single sign-on links, user attributes and provider-made memberships, for every backend
//! (expanded by `sql_store!`).

macro_rules! sql_sso {
    ($store:ident, $db:ty, $row:ty) => {
        mod sso_sql {
            use async_trait::async_trait;
            use sqlx::Row;
            use tessera_core::audit::{AuditActor, AuditEntry};
            use tessera_core::ids::{OrganizationId, UserId};
            use tessera_core::model::{Timestamp, User};
            use tessera_core::names::Email;
            use tessera_core::sso::{Attributes, FederatedIdentity};
            use tessera_core::store::{MembershipChanges, SsoStore, StoreError, StoreResult};

            use super::$store;
            use crate::rows::{backend, conflict_or_backend, to_ms, user_id};

            impl $store {
                async fn attributes_in(
                    executor: impl sqlx::Executor<'_, Database = $db>,
                    user: UserId,
                ) -> StoreResult<Attributes> {
                    let rows = sqlx::query("SELECT name, value FROM user_attributes WHERE user_id = $1")
                        .bind(user.to_string())
                        .fetch_all(executor)
                        .await
                        .map_err(backend)?;
                    let mut out = Attributes::new();
                    for row in &rows {
                        let name: String = row.try_get("name").map_err(backend)?;
                        let text: String = row.try_get("value").map_err(backend)?;
                        let value = serde_json::from_str(&text)
                            .map_err(|e| StoreError::Backend(format!("corrupt attribute {name:?}: {e}")))?;
                        out.insert(name, value);
                    }
                    Ok(out)
                }

                async fn write_attributes(
                    tx: &mut sqlx::Transaction<'_, $db>,
                    user: UserId,
                    attributes: &Attributes,
                ) -> StoreResult<()> {
                    sqlx::query("DELETE FROM user_attributes WHERE user_id = $1")
                        .bind(user.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(backend)?;
                    for (name, value) in attributes {
                        sqlx::query("INSERT INTO user_attributes (user_id, name, value) VALUES ($1, $2, $3)")
                            .bind(user.to_string())
                            .bind(name)
                            .bind(value.to_string())
                            .execute(&mut **tx)
                            .await
                            .map_err(backend)?;
                    }
                    Ok(())
                }
            }

            fn org_audit(actor: &AuditActor, now: Timestamp, action: &str, id: &str, name: &str) -> AuditEntry {
                AuditEntry {
                    target_id: Some(id.to_string()),
                    target_name: Some(name.to_string()),
                    ..AuditEntry::new(actor, now, action, "organization")
                }
            }

            #[async_trait]
            impl SsoStore for $store {
                async fn sso_user(&self, provider: &str, subject: &str) -> StoreResult<Option<UserId>> {
                    let row = sqlx::query("SELECT user_id FROM sso_identities WHERE provider = $1 AND subject = $2")
                        .bind(provider)
                        .bind(subject)
                        .fetch_optional(self.pool())
                        .await
                        .map_err(backend)?;
                    match row {
                        None => Ok(None),
                        Some(r) => user_id(&r.try_get::<String, _>("user_id").map_err(backend)?).map(Some),
                    }
                }

                async fn principal_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
                    self.fetch_principal("email", email.as_str().to_string()).await
                }

                async fn insert_sso_user(
                    &self,
                    user: &User,
                    identity: &FederatedIdentity,
                    attributes: &Attributes,
                    audit: &AuditEntry,
                ) -> StoreResult<()> {
                    write_tx!(self, |tx| {
                    sqlx::query(
                        "INSERT INTO principals (id, kind, user_name, email, first_name, last_name, description,
                                                 roles, status, password_hash, created_at, created_by)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, NULL)",
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
                    .bind(to_ms(user.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict_or_backend)?;
                    sqlx::query("INSERT INTO sso_identities (provider, subject, user_id, user_name) VALUES ($1, $2, $3, $4)")
                        .bind(&identity.provider)
                        .bind(&identity.subject)
                        .bind(user.id.to_string())
                        .bind(identity.user_name.as_deref())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| match &e {
                            // Another sign-in of the same person linked the subject first.
                            sqlx::Error::Database(db) if db.is_unique_violation() => {
                                StoreError::Conflict { field: "subject" }
                            }
                            _ => backend(e),
                        })?;
                    Self::write_attributes(&mut tx, user.id, attributes).await?;
                    Self::insert_audit(&mut tx, audit).await?;
                    Ok(())
                    })
                }

                async fn set_federated_user_name(&self, identity: &FederatedIdentity) -> StoreResult<()> {
                    let Some(user_name) = identity.user_name.as_deref() else {
                        return Ok(());
                    };
                    sqlx::query(
                        "UPDATE sso_identities SET user_name = $3
                         WHERE provider = $1 AND subject = $2 AND (user_name IS NULL OR user_name <> $3)",
                    )
                    .bind(&identity.provider)
                    .bind(&identity.subject)
                    .bind(user_name)
                    .execute(self.pool())
                    .await
                    .map_err(backend)?;
                    Ok(())
                }

                async fn federated_identities(&self, users: &[UserId]) -> StoreResult<Vec<(UserId, FederatedIdentity)>> {
                    if users.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "SELECT user_id, provider, subject, user_name FROM sso_identities WHERE user_id IN (",
                    );
                    let mut ids = qb.separated(", ");
                    for id in users {
                        ids.push_bind(id.to_string());
                    }
                    qb.push(") ORDER BY user_id, provider");
                    let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                    rows.iter()
                        .map(|r| {
                            Ok((
                                user_id(&r.try_get::<String, _>("user_id").map_err(backend)?)?,
                                FederatedIdentity {
                                    provider: r.try_get("provider").map_err(backend)?,
                                    subject: r.try_get("subject").map_err(backend)?,
                                    user_name: r.try_get("user_name").map_err(backend)?,
                                },
                            ))
                        })
                        .collect()
                }

                async fn set_attributes(&self, user: UserId, attributes: &Attributes, audit: &AuditEntry) -> StoreResult<bool> {
                    write_tx!(self, |tx| {
                    let old = Self::attributes_in(&mut *tx, user).await?;
                    if &old == attributes {
                        return Ok(false);
                    }
                    Self::write_attributes(&mut tx, user, attributes).await?;
                    let audit = audit
                        .clone()
                        .with_detail("before", serde_json::json!(old))
                        .with_detail("after", serde_json::json!(attributes));
                    Self::insert_audit(&mut tx, &audit).await?;
                    Ok(true)
                    })
                }

                async fn consume_sso_state(&self, state_hash: &str, expires_at: Timestamp, now: Timestamp) -> StoreResult<bool> {
                    write_tx!(self, |tx| {
                        sqlx::query("DELETE FROM sso_used_states WHERE expires_at < $1")
                            .bind(to_ms(now))
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                        let first = sqlx::query(
                            "INSERT INTO sso_used_states (state_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        )
                        .bind(state_hash)
                        .bind(to_ms(expires_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?
                        .rows_affected()
                            == 1;
                        Ok(first)
                    })
                }

                async fn attributes_of(&self, user: UserId) -> StoreResult<Attributes> {
                    Self::attributes_in(self.pool(), user).await
                }

                async fn membership_provider(&self, org: OrganizationId, user: UserId) -> StoreResult<Option<String>> {
                    let row = sqlx::query("SELECT provider FROM sso_memberships WHERE organization_id = $1 AND user_id = $2")
                        .bind(org.to_string())
                        .bind(user.to_string())
                        .fetch_optional(self.pool())
                        .await
                        .map_err(backend)?;
                    row.map(|r| r.try_get("provider").map_err(backend)).transpose()
                }

                async fn sync_sso_memberships(
                    &self,
                    user: &User,
                    provider: &str,
                    organizations: &[String],
                    now: Timestamp,
                    actor: &AuditActor,
                ) -> StoreResult<MembershipChanges> {
                    write_tx!(self, |tx| {
                    let mut changes = MembershipChanges::default();
                    let uid = user.id.to_string();
                    let member = user.user_name.as_str();
                    for name in organizations {
                        let found = sqlx::query("SELECT id FROM organizations WHERE name = $1")
                            .bind(name)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(backend)?;
                        let org_id = match found {
                            Some(row) => row.try_get::<String, _>("id").map_err(backend)?,
                            None => {
                                let id = OrganizationId::new().to_string();
                                // A concurrent sign-in (or administrator) may create it first:
                                // theirs is then joined, never a unique violation.
                                let made = sqlx::query(
                                    "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)
                                     ON CONFLICT DO NOTHING",
                                )
                                .bind(&id)
                                .bind(name)
                                .bind(to_ms(now))
                                .execute(&mut *tx)
                                .await
                                .map_err(conflict_or_backend)?
                                .rows_affected()
                                    == 1;
                                if made {
                                    Self::insert_audit(&mut tx, &org_audit(actor, now, "organization.created", &id, name)).await?;
                                    changes.created.push(name.clone());
                                    id
                                } else {
                                    sqlx::query("SELECT id FROM organizations WHERE name = $1")
                                        .bind(name)
                                        .fetch_optional(&mut *tx)
                                        .await
                                        .map_err(backend)?
                                        .ok_or(StoreError::Conflict { field: "name" })?
                                        .try_get::<String, _>("id")
                                        .map_err(backend)?
                                }
                            }
                        };
                        let added = sqlx::query(
                            "INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        )
                        .bind(&org_id)
                        .bind(&uid)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?
                        .rows_affected()
                            > 0;
                        if added {
                            sqlx::query(
                                "INSERT INTO sso_memberships (organization_id, user_id, provider) VALUES ($1, $2, $3)
                                 ON CONFLICT DO NOTHING",
                            )
                            .bind(&org_id)
                            .bind(&uid)
                            .bind(provider)
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                            let audit = org_audit(actor, now, "organization.member-added", &org_id, name)
                                .with_detail("member", member);
                            Self::insert_audit(&mut tx, &audit).await?;
                            changes.added.push(name.clone());
                        }
                    }
                    let made = sqlx::query(
                        "SELECT o.id, o.name FROM sso_memberships s JOIN organizations o ON o.id = s.organization_id
                         WHERE s.user_id = $1 AND s.provider = $2 ORDER BY o.name",
                    )
                    .bind(&uid)
                    .bind(provider)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(backend)?;
                    for row in &made {
                        let name: String = row.try_get("name").map_err(backend)?;
                        if organizations.contains(&name) {
                            continue;
                        }
                        let org_id: String = row.try_get("id").map_err(backend)?;
                        for sql in [
                            "DELETE FROM sso_memberships WHERE organization_id = $1 AND user_id = $2",
                            "DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2",
                        ] {
                            sqlx::query(sql)
                                .bind(&org_id)
                                .bind(&uid)
                                .execute(&mut *tx)
                                .await
                                .map_err(backend)?;
                        }
                        let audit = org_audit(actor, now, "organization.member-removed", &org_id, &name)
                            .with_detail("memberId", uid.as_str())
                            .with_detail("member", member);
                        Self::insert_audit(&mut tx, &audit).await?;
                        changes.removed.push(name);
                    }
                    Ok(changes)
                    })
                }
            }
        }
    };
}
