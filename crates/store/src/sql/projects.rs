//! Projects and their collaborators, for every backend (expanded by `sql_store!`).

macro_rules! sql_projects {
    ($store:ident, $db:ty, $row:ty) => {
        mod projects_sql {
            use std::collections::HashMap;

            use async_trait::async_trait;
            use sqlx::{QueryBuilder, Row};
            use tessera_core::paging::{PageQuery, Total};
            use tessera_core::audit::AuditEntry;
            use tessera_core::ids::{ProjectId, UserId};
            use tessera_core::names::UserName;
            use tessera_core::policy::model_api::ProjectRole;
            use tessera_core::projects::{Project, ProjectCollaborator, Relationship, parse_visibility};
            use tessera_core::store::{ProjectStore, StoreError, StoreResult};

            use super::$store;
            use super::paging_sql::{ID_CHUNK, capped_count, push_id_list, push_text_page};
            use crate::rows::{backend, conflict_or_backend, from_ms, to_ms, user_id};

            const PROJECT_COLUMNS: &str = "pr.id, pr.name, pr.owner_id, p.user_name AS owner_name, pr.description, \
                pr.visibility, pr.created_at FROM projects pr JOIN principals p ON p.id = pr.owner_id";

            fn project_id(s: &str) -> StoreResult<ProjectId> {
                ProjectId::parse(s).ok_or_else(|| StoreError::Backend(format!("corrupt project id {s:?}")))
            }

            /// The rows of `user`'s projects per `relationship` (a condition on `pr`).
            fn push_relationship(qb: &mut QueryBuilder<'static, $db>, user: UserId, relationship: Relationship) {
                let collaborating = |qb: &mut QueryBuilder<'static, $db>| {
                    qb.push("pr.id IN (SELECT project_id FROM project_collaborators WHERE user_id = ")
                        .push_bind(user.to_string())
                        .push(")");
                };
                match relationship {
                    Relationship::Owned => {
                        qb.push("pr.owner_id = ").push_bind(user.to_string());
                    }
                    Relationship::Collaborating => collaborating(qb),
                    // One index lookup per side (`UNIQUE (owner_id, name)` and
                    // `project_collaborators_by_user`): an `OR` of the two made both backends
                    // scan every project (issue 19).
                    Relationship::All => {
                        qb.push("pr.id IN (SELECT id FROM projects WHERE owner_id = ")
                            .push_bind(user.to_string())
                            .push(" UNION SELECT project_id FROM project_collaborators WHERE user_id = ")
                            .push_bind(user.to_string())
                            .push(")");
                    }
                }
            }

            impl $store {
                /// The collaborators of each of `ids` (each project's by user name), in one query
                /// per chunk of ids, not one per project (issue 19).
                #[tracing::instrument(level = "debug", skip_all, fields(projects = ids.len()))]
                async fn collaborators_of(&self, ids: &[String]) -> StoreResult<HashMap<String, Vec<ProjectCollaborator>>> {
                    let mut by_project: HashMap<String, Vec<ProjectCollaborator>> = HashMap::new();
                    for chunk in ids.chunks(ID_CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new(
                            "SELECT c.project_id, c.user_id, p.user_name, c.role FROM project_collaborators c
                             JOIN principals p ON p.id = c.user_id WHERE c.project_id IN ",
                        );
                        push_id_list(&mut qb, chunk);
                        qb.push(" ORDER BY c.project_id, p.user_name");
                        let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                        for r in &rows {
                            let role: String = r.try_get("role").map_err(backend)?;
                            let project: String = r.try_get("project_id").map_err(backend)?;
                            by_project.entry(project).or_default().push(ProjectCollaborator {
                                user_id: user_id(&r.try_get::<String, _>("user_id").map_err(backend)?)?,
                                user_name: UserName::from_trusted(r.try_get("user_name").map_err(backend)?),
                                role: ProjectRole::parse(&role).ok_or_else(|| StoreError::Backend(format!("corrupt role {role:?}")))?,
                            });
                        }
                    }
                    Ok(by_project)
                }

                /// The projects of `rows` (selected with `PROJECT_COLUMNS`), each with its
                /// collaborators, read for all of them at once.
                #[tracing::instrument(level = "debug", skip_all)]
                async fn projects_from(&self, rows: &[$row]) -> StoreResult<Vec<Project>> {
                    let ids = rows.iter().map(|r| r.try_get::<String, _>("id").map_err(backend)).collect::<StoreResult<Vec<_>>>()?;
                    let mut collaborators = self.collaborators_of(&ids).await?;
                    let mut out = Vec::with_capacity(rows.len());
                    for (row, raw_id) in rows.iter().zip(ids) {
                        let visibility: String = row.try_get("visibility").map_err(backend)?;
                        out.push(Project {
                            id: project_id(&raw_id)?,
                            name: row.try_get("name").map_err(backend)?,
                            owner_id: user_id(&row.try_get::<String, _>("owner_id").map_err(backend)?)?,
                            owner_name: UserName::from_trusted(row.try_get("owner_name").map_err(backend)?),
                            description: row.try_get("description").map_err(backend)?,
                            visibility: parse_visibility("visibility", &visibility).map_err(|e| StoreError::Backend(e.to_string()))?,
                            created_at: from_ms(row.try_get("created_at").map_err(backend)?),
                            collaborators: collaborators.remove(&raw_id).unwrap_or_default(),
                        });
                    }
                    Ok(out)
                }
            }

            #[async_trait]
            impl ProjectStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_project(&self, project: &Project, audit: &AuditEntry) -> StoreResult<()> {
                    write_tx!(self, audit = audit, |tx| {
                        sqlx::query(
                            "INSERT INTO projects (id, name, owner_id, description, visibility, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(project.id.to_string())
                        .bind(&project.name)
                        .bind(project.owner_id.to_string())
                        .bind(&project.description)
                        .bind(tessera_core::projects::visibility_str(project.visibility))
                        .bind(to_ms(project.created_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict_or_backend)?;
                        for c in &project.collaborators {
                            sqlx::query("INSERT INTO project_collaborators (project_id, user_id, role) VALUES ($1, $2, $3)")
                                .bind(project.id.to_string())
                                .bind(c.user_id.to_string())
                                .bind(c.role.as_str())
                                .execute(&mut *tx)
                                .await
                                .map_err(conflict_or_backend)?;
                        }
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
                async fn project(&self, id: ProjectId) -> StoreResult<Option<Project>> {
                    let rows = sqlx::query(&format!("SELECT {PROJECT_COLUMNS} WHERE pr.id = $1"))
                        .bind(id.to_string())
                        .fetch_all(self.pool())
                        .await
                        .map_err(backend)?;
                    Ok(self.projects_from(&rows).await?.into_iter().next())
                }

                #[tracing::instrument(level = "debug", skip_all, fields(projects = ids.len()))]
                async fn projects(&self, ids: &[ProjectId]) -> StoreResult<Vec<Project>> {
                    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                    let mut rows = Vec::with_capacity(ids.len());
                    for chunk in ids.chunks(ID_CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new(format!("SELECT {PROJECT_COLUMNS} WHERE pr.id IN "));
                        push_id_list(&mut qb, chunk);
                        rows.extend(qb.build().fetch_all(self.pool()).await.map_err(backend)?);
                    }
                    self.projects_from(&rows).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn project_by_owner_and_name(&self, owner: &UserName, name: &str) -> StoreResult<Option<Project>> {
                    let rows = sqlx::query(&format!("SELECT {PROJECT_COLUMNS} WHERE p.user_name = $1 AND pr.name = $2"))
                        .bind(owner.as_str())
                        .bind(name)
                        .fetch_all(self.pool())
                        .await
                        .map_err(backend)?;
                    Ok(self.projects_from(&rows).await?.into_iter().next())
                }

                #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
                async fn projects_of(&self, user: UserId, relationship: Relationship, page: &PageQuery) -> StoreResult<Vec<Project>> {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {PROJECT_COLUMNS} WHERE "));
                    push_relationship(&mut qb, user, relationship);
                    push_text_page(&mut qb, "pr.name", "pr.id", &page);
                    let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                    self.projects_from(&rows).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
                async fn count_projects_of(&self, user: UserId, relationship: Relationship) -> StoreResult<Total> {
                    let mut qb = QueryBuilder::<$db>::new("SELECT count(*) FROM (SELECT 1 FROM projects pr WHERE ");
                    push_relationship(&mut qb, user, relationship);
                    capped_count(qb, self.pool()).await
                }

                #[tracing::instrument(level = "debug", skip_all, fields(project = %project, user = %user))]
                async fn set_project_collaborator(&self, project: ProjectId, user: UserId, role: ProjectRole, audit: &AuditEntry) -> StoreResult<()> {
                    write_tx!(self, audit = audit, |tx| {
                        sqlx::query(
                            "INSERT INTO project_collaborators (project_id, user_id, role) VALUES ($1, $2, $3)
                             ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
                        )
                        .bind(project.to_string())
                        .bind(user.to_string())
                        .bind(role.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                        Ok(())
                    })
                }

                #[tracing::instrument(level = "debug", skip_all, fields(project = %project, user = %user))]
                async fn remove_project_collaborator(&self, project: ProjectId, user: UserId, audit: &AuditEntry) -> StoreResult<bool> {
                    write_tx!(self, |tx| {
                        let gone = sqlx::query("DELETE FROM project_collaborators WHERE project_id = $1 AND user_id = $2")
                            .bind(project.to_string())
                            .bind(user.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?
                            .rows_affected()
                            > 0;
                        Self::audit_if(&mut tx, gone, audit).await
                    })
                }
            }
        }
    };
}
