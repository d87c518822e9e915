//! Model APIs and their collaborators, for every backend (expanded by `sql_store!`).

macro_rules! sql_model_apis {
    ($store:ident, $db:ty, $row:ty) => {
        mod model_apis_sql {
            use async_trait::async_trait;
            use sqlx::{QueryBuilder, Row};
            use tessera_core::paging::Total;
            use tessera_core::audit::AuditEntry;
            use tessera_core::ids::{CollaboratorId, ModelApiId, OrganizationId, ProjectId, UserId};
            use tessera_core::model_apis::{Authorization, Grantee, ModelApi, ModelCollaborator, ModelKind};
            use tessera_core::names::UserName;
            use tessera_core::policy::model_api::ModelRole;
            use tessera_core::projects::{parse_visibility, visibility_str};
            use tessera_core::store::{ModelApiQuery, ModelApiStore, StoreError, StoreResult};

            use super::$store;
            use super::paging_sql::{capped_count, push_text_page};
            use crate::rows::{backend, conflict_or_backend, from_ms, to_ms, user_id};

            const COLUMNS: &str = "m.id, m.name, m.project_id, m.owner_id, p.user_name AS owner_name, m.kind, \
                m.visibility, m.access_mode, m.description, m.created_at \
                FROM model_apis m JOIN principals p ON p.id = m.owner_id";

            /// The conditions of `query` on `m` (after a `WHERE 1 = 1`). Each branch of the
            /// visibility test is an index seek from the user's side or the row's own columns.
            fn push_model_api_filter(qb: &mut QueryBuilder<'static, $db>, query: &ModelApiQuery) {
                if let Some(user) = query.visible_to {
                    let me = user.to_string();
                    qb.push(" AND (m.visibility = 'public' OR m.owner_id = ").push_bind(me.clone());
                    qb.push(" OR m.id IN (SELECT model_api_id FROM model_api_collaborators WHERE user_id = ").push_bind(me.clone());
                    qb.push(") OR m.id IN (SELECT c.model_api_id FROM model_api_collaborators c JOIN organization_members om \
                              ON om.organization_id = c.organization_id WHERE om.user_id = ").push_bind(me.clone());
                    qb.push(") OR m.project_id IN (SELECT id FROM projects WHERE owner_id = ").push_bind(me.clone());
                    qb.push(") OR m.project_id IN (SELECT project_id FROM project_collaborators WHERE user_id = ").push_bind(me);
                    qb.push("))");
                }
                if let Some(needle) = query.search.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()) {
                    let escaped = needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    let pattern = format!("%{escaped}%");
                    $store::push_model_api_search(qb, &needle);
                    qb.push(" AND (lower(m.name) LIKE ").push_bind(pattern.clone());
                    qb.push(" ESCAPE '\\' OR lower(m.description) LIKE ").push_bind(pattern);
                    qb.push(" ESCAPE '\\')");
                }
            }

            fn corrupt(what: &str, value: &str) -> StoreError {
                StoreError::Backend(format!("corrupt {what} {value:?}"))
            }

            impl $store {
                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn model_collaborators(&self, id: ModelApiId) -> StoreResult<Vec<ModelCollaborator>> {
                    let rows = sqlx::query(
                        "SELECT c.id, c.user_id, p.user_name, c.organization_id, o.name AS org_name, c.role
                         FROM model_api_collaborators c
                         LEFT JOIN principals p ON p.id = c.user_id
                         LEFT JOIN organizations o ON o.id = c.organization_id
                         WHERE c.model_api_id = $1 ORDER BY c.id",
                    )
                    .bind(id.to_string())
                    .fetch_all(self.pool())
                    .await
                    .map_err(backend)?;
                    rows.iter()
                        .map(|r| {
                            let get = |c: &str| r.try_get::<Option<String>, _>(c).map_err(backend);
                            let role: String = r.try_get("role").map_err(backend)?;
                            let grantee = match (get("user_id")?, get("organization_id")?) {
                                (Some(u), None) => Grantee::User {
                                    id: user_id(&u)?,
                                    name: UserName::from_trusted(get("user_name")?.unwrap_or_default()),
                                },
                                (None, Some(o)) => Grantee::Organization {
                                    id: OrganizationId::parse(&o).ok_or_else(|| corrupt("organization id", &o))?,
                                    name: get("org_name")?.unwrap_or_default(),
                                },
                                _ => return Err(corrupt("collaborator", "")),
                            };
                            let id: String = r.try_get("id").map_err(backend)?;
                            Ok(ModelCollaborator {
                                id: CollaboratorId::parse(&id).ok_or_else(|| corrupt("collaborator id", &id))?,
                                grantee,
                                role: ModelRole::parse(&role).ok_or_else(|| corrupt("role", &role))?,
                            })
                        })
                        .collect()
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn model_apis_from(&self, rows: &[$row]) -> StoreResult<Vec<ModelApi>> {
                    let mut out = Vec::with_capacity(rows.len());
                    for row in rows {
                        let s = |c: &str| row.try_get::<String, _>(c).map_err(backend);
                        let id = s("id")?;
                        let id = ModelApiId::parse(&id).ok_or_else(|| corrupt("model API id", &id))?;
                        let project = s("project_id")?;
                        out.push(ModelApi {
                            id,
                            name: s("name")?,
                            project_id: ProjectId::parse(&project).ok_or_else(|| corrupt("project id", &project))?,
                            owner_id: user_id(&s("owner_id")?)?,
                            owner_name: UserName::from_trusted(s("owner_name")?),
                            kind: ModelKind::parse("kind", &s("kind")?).map_err(|e| StoreError::Backend(e.to_string()))?,
                            visibility: parse_visibility("visibility", &s("visibility")?).map_err(|e| StoreError::Backend(e.to_string()))?,
                            authorization: Authorization::parse("authorization", &s("access_mode")?).map_err(|e| StoreError::Backend(e.to_string()))?,
                            description: s("description")?,
                            created_at: from_ms(row.try_get("created_at").map_err(backend)?),
                            collaborators: self.model_collaborators(id).await?,
                        });
                    }
                    Ok(out)
                }
            }

            #[async_trait]
            impl ModelApiStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_model_api(&self, api: &ModelApi, audit: &AuditEntry) -> StoreResult<()> {
                    write_tx!(self, audit = audit, |tx| {
                        sqlx::query(
                            "INSERT INTO model_apis (id, name, project_id, owner_id, kind, visibility, access_mode, description, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        )
                        .bind(api.id.to_string())
                        .bind(&api.name)
                        .bind(api.project_id.to_string())
                        .bind(api.owner_id.to_string())
                        .bind(api.kind.as_str())
                        .bind(visibility_str(api.visibility))
                        .bind(api.authorization.as_str())
                        .bind(&api.description)
                        .bind(to_ms(api.created_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict_or_backend)?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn model_api(&self, id: ModelApiId) -> StoreResult<Option<ModelApi>> {
                    let rows = sqlx::query(&format!("SELECT {COLUMNS} WHERE m.id = $1"))
                        .bind(id.to_string())
                        .fetch_all(self.pool())
                        .await
                        .map_err(backend)?;
                    Ok(self.model_apis_from(&rows).await?.into_iter().next())
                }

                async fn model_api_page(&self, query: &ModelApiQuery) -> StoreResult<Vec<ModelApi>> {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {COLUMNS} WHERE 1 = 1"));
                    push_model_api_filter(&mut qb, query);
                    push_text_page(&mut qb, "m.name", "m.id", &query.page);
                    let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                    self.model_apis_from(&rows).await
                }

                async fn count_model_apis(&self, query: &ModelApiQuery) -> StoreResult<Total> {
                    let mut qb = QueryBuilder::<$db>::new("SELECT count(*) FROM (SELECT 1 FROM model_apis m WHERE 1 = 1");
                    push_model_api_filter(&mut qb, query);
                    capped_count(qb, self.pool()).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn model_apis(&self) -> StoreResult<Vec<ModelApi>> {
                    let rows = sqlx::query(&format!("SELECT {COLUMNS} ORDER BY m.name, m.id"))
                        .fetch_all(self.pool())
                        .await
                        .map_err(backend)?;
                    self.model_apis_from(&rows).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn update_model_api(&self, api: &ModelApi, audit: &AuditEntry) -> StoreResult<()> {
                    write_tx!(self, audit = audit, |tx| {
                        sqlx::query(
                            "UPDATE model_apis SET name = $1, description = $2, visibility = $3, access_mode = $4, owner_id = $5
                             WHERE id = $6",
                        )
                        .bind(&api.name)
                        .bind(&api.description)
                        .bind(visibility_str(api.visibility))
                        .bind(api.authorization.as_str())
                        .bind(api.owner_id.to_string())
                        .bind(api.id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict_or_backend)?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(api = %api))]
                async fn set_model_collaborator(&self, api: ModelApiId, c: &ModelCollaborator, audit: &AuditEntry) -> StoreResult<CollaboratorId> {
                    write_tx!(self, audit = audit, |tx| {
                        let (user, org, column) = match &c.grantee {
                            Grantee::User { id, .. } => (Some(id.to_string()), None, "user_id"),
                            Grantee::Organization { id, .. } => (None, Some(id.to_string()), "organization_id"),
                        };
                        let existing: Option<String> = sqlx::query_scalar(&format!(
                            "SELECT id FROM model_api_collaborators WHERE model_api_id = $1 AND {column} = $2"
                        ))
                        .bind(api.to_string())
                        .bind(user.clone().or(org.clone()))
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend)?;
                        let id = match existing {
                            Some(id) => {
                                sqlx::query("UPDATE model_api_collaborators SET role = $1 WHERE id = $2")
                                    .bind(c.role.as_str())
                                    .bind(&id)
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(backend)?;
                                CollaboratorId::parse(&id).ok_or_else(|| corrupt("collaborator id", &id))?
                            }
                            None => {
                                sqlx::query(
                                    "INSERT INTO model_api_collaborators (id, model_api_id, user_id, organization_id, role)
                                     VALUES ($1, $2, $3, $4, $5)",
                                )
                                .bind(c.id.to_string())
                                .bind(api.to_string())
                                .bind(user)
                                .bind(org)
                                .bind(c.role.as_str())
                                .execute(&mut *tx)
                                .await
                                .map_err(conflict_or_backend)?;
                                c.id
                            }
                        };
                        Ok(id)
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(api = %api, id = %id))]
                async fn remove_model_collaborator(&self, api: ModelApiId, id: CollaboratorId, audit: &AuditEntry) -> StoreResult<bool> {
                    write_tx!(self, |tx| {
                        let gone = sqlx::query("DELETE FROM model_api_collaborators WHERE model_api_id = $1 AND id = $2")
                            .bind(api.to_string())
                            .bind(id.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?
                            .rows_affected()
                            > 0;
                        Self::audit_if(&mut tx, gone, audit).await
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(api = %api))]
                async fn insert_version(&self, api: ModelApiId, upstream_url: &str, description: &str, at: tessera_core::model::Timestamp, audit: &AuditEntry) -> StoreResult<tessera_core::model_apis::ModelVersion> {
                    self.serving_insert_version(api, upstream_url, description, at, audit).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(api = %api))]
                async fn versions(&self, api: ModelApiId) -> StoreResult<Vec<tessera_core::model_apis::ModelVersion>> {
                    self.serving_versions(api).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(api = %api))]
                async fn activate_version(&self, api: ModelApiId, number: i64, audit: &AuditEntry) -> StoreResult<bool> {
                    self.serving_activate(api, number, audit).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_model_token(&self, token: &tessera_core::model_apis::ModelToken, audit: &AuditEntry) -> StoreResult<()> {
                    self.serving_insert_token(token, audit).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(api = %api))]
                async fn model_tokens(&self, api: ModelApiId) -> StoreResult<Vec<tessera_core::model_apis::ModelToken>> {
                    self.serving_tokens(api).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn model_token_by_hash(&self, hash: &tessera_core::secret::TokenHash) -> StoreResult<Option<tessera_core::model_apis::ModelToken>> {
                    self.serving_token_by_hash(hash).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(api = %api))]
                async fn revoke_model_token(&self, api: ModelApiId, id: tessera_core::ids::ModelTokenId, at: tessera_core::model::Timestamp, audit: &AuditEntry) -> StoreResult<Option<tessera_core::model_apis::ModelToken>> {
                    self.serving_revoke_token(api, id, at, audit).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn record_invocations(&self, batch: &[tessera_core::model_apis::Invocation]) -> StoreResult<()> {
                    self.serving_record(batch).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(api = %api))]
                async fn invocations(&self, api: ModelApiId, page: &tessera_core::paging::PageQuery) -> StoreResult<Vec<tessera_core::model_apis::LoggedInvocation>> {
                    self.serving_invocations(api, page).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(api = %api))]
                async fn count_invocations(&self, api: ModelApiId) -> StoreResult<Total> {
                    self.serving_count_invocations(api).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
                async fn organization_ids_of(&self, user: UserId) -> StoreResult<Vec<OrganizationId>> {
                    let ids: Vec<String> = sqlx::query_scalar("SELECT organization_id FROM organization_members WHERE user_id = $1")
                        .bind(user.to_string())
                        .fetch_all(self.pool())
                        .await
                        .map_err(backend)?;
                    ids.iter().map(|i| OrganizationId::parse(i).ok_or_else(|| corrupt("organization id", i))).collect()
                }
            }
        }
    };
}
