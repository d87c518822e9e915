//! Model APIs and their collaborators, for every backend (expanded by `sql_store!`).

macro_rules! sql_model_apis {
    ($store:ident, $db:ty, $row:ty) => {
        mod model_apis_sql {
            use std::collections::HashMap;

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
            use super::paging_sql::{BUDGETED_FROM, BUDGETED_OPEN, ID_CHUNK, budgeted_count, capped_count, push_id_list, push_text_page};
            use crate::rows::{backend, conflict_or_backend, from_ms, to_ms, user_id};

            /// The columns of a model API row `m` (and its owner's name from `p`).
            const SELECTED: &str = "m.id, m.name, m.project_id, m.owner_id, p.user_name AS owner_name, m.kind, \
                m.visibility, m.access_mode, m.description, m.created_at";
            /// The tables of `SELECTED`: a model API and its owner.
            const JOINED: &str = "FROM model_apis m JOIN principals p ON p.id = m.owner_id";

            /// How many rows of the name order a search page reads before it asks the search
            /// index instead: at least this many, or four times the rows the page needs.
            const SEARCH_WINDOW_MIN: u32 = 200;
            /// Pages that need more rows than this (offset and limit) go to the search index
            /// at once: a walk long enough to fill them would cost more than it saves.
            const SEARCH_WINDOW_MAX_PAGE: u32 = 250;

            /// The search of `query`, trimmed and in lower case, when there is one.
            fn needle(query: &ModelApiQuery) -> Option<String> {
                query.search.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty())
            }

            /// The rows of the name order that a search page walks before it falls back to the
            /// search index, or `None` when the page is too deep for a walk to pay.
            fn search_window(page: &tessera_core::paging::PageQuery) -> Option<u32> {
                let needed = page.offset.saturating_add(page.limit.max(1));
                (needed <= SEARCH_WINDOW_MAX_PAGE).then(|| needed.saturating_mul(4).max(SEARCH_WINDOW_MIN))
            }

            /// The visibility condition of `query` on `m` (after a `WHERE 1 = 1`), for pages:
            /// tested on the rows of the name order (each branch an index seek from the user's
            /// side or the row's own columns), never an OR of index reads (see
            /// `PAGE_VISIBILITY_COLUMN`).
            fn push_visible(qb: &mut QueryBuilder<'static, $db>, query: &ModelApiQuery) {
                if let Some(user) = query.visible_to {
                    let me = user.to_string();
                    qb.push(format!(" AND ({} = 'public' OR m.owner_id = ", $store::PAGE_VISIBILITY_COLUMN))
                        .push_bind(me.clone());
                    qb.push(" OR m.id IN (SELECT model_api_id FROM model_api_collaborators WHERE user_id = ").push_bind(me.clone());
                    qb.push(") OR m.id IN (SELECT c.model_api_id FROM model_api_collaborators c JOIN organization_members om \
                              ON om.organization_id = c.organization_id WHERE om.user_id = ").push_bind(me.clone());
                    qb.push(") OR m.project_id IN (SELECT id FROM projects WHERE owner_id = ").push_bind(me.clone());
                    qb.push(") OR m.project_id IN (SELECT project_id FROM project_collaborators WHERE user_id = ").push_bind(me);
                    qb.push("))");
                }
            }

            /// The ids of the model APIs `user` reaches other than by their being public: owns,
            /// collaborates on directly or through an organization, or reaches through the
            /// project (the same branches as [`push_visible`]), as `m.id IN (…)`, every branch an
            /// index seek from the user's side.
            fn push_reached_by(qb: &mut QueryBuilder<'static, $db>, user: UserId) {
                let me = user.to_string();
                qb.push(" AND m.id IN (SELECT o.id FROM model_apis o WHERE o.owner_id = ").push_bind(me.clone());
                qb.push(" UNION ALL SELECT model_api_id FROM model_api_collaborators WHERE user_id = ").push_bind(me.clone());
                qb.push(" UNION ALL SELECT c.model_api_id FROM model_api_collaborators c JOIN organization_members om \
                          ON om.organization_id = c.organization_id WHERE om.user_id = ").push_bind(me.clone());
                qb.push(" UNION ALL SELECT r.id FROM model_apis r WHERE r.project_id IN (SELECT id FROM projects WHERE owner_id = ")
                    .push_bind(me.clone());
                qb.push(" UNION ALL SELECT project_id FROM project_collaborators WHERE user_id = ").push_bind(me);
                qb.push("))");
            }

            /// The substring test of a search on the row `m` itself (name or description).
            fn push_search_test(qb: &mut QueryBuilder<'static, $db>, needle: &str) {
                let escaped = needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                let pattern = format!("%{escaped}%");
                qb.push(" AND (lower(m.name) LIKE ").push_bind(pattern.clone());
                qb.push(" ESCAPE '\\' OR lower(m.description) LIKE ").push_bind(pattern);
                qb.push(" ESCAPE '\\')");
            }

            /// The search of `query` on `m`: the candidates its index finds, each tested on the row.
            fn push_search(qb: &mut QueryBuilder<'static, $db>, query: &ModelApiQuery) {
                if let Some(needle) = needle(query) {
                    $store::push_model_api_search(qb, &needle);
                    push_search_test(qb, &needle);
                }
            }

            /// The conditions of `query` on `m` (after a `WHERE 1 = 1`).
            fn push_model_api_filter(qb: &mut QueryBuilder<'static, $db>, query: &ModelApiQuery) {
                push_visible(qb, query);
                push_search(qb, query);
            }

            fn corrupt(what: &str, value: &str) -> StoreError {
                StoreError::Backend(format!("corrupt {what} {value:?}"))
            }

            /// One row of the collaborators query of `model_collaborators_of`.
            fn collaborator_from(r: &$row) -> StoreResult<ModelCollaborator> {
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
            }

            impl $store {
                /// The collaborators of each of `ids` (in order of their ids), in one query.
                #[tracing::instrument(level = "debug", skip_all, fields(apis = ids.len()))]
                async fn model_collaborators_of(&self, ids: &[String]) -> StoreResult<HashMap<String, Vec<ModelCollaborator>>> {
                    let mut by_api: HashMap<String, Vec<ModelCollaborator>> = HashMap::new();
                    if ids.is_empty() {
                        return Ok(by_api);
                    }
                    for chunk in ids.chunks(ID_CHUNK) {
                        let mut qb = QueryBuilder::<$db>::new(
                            "SELECT c.id, c.model_api_id, c.user_id, p.user_name, c.organization_id, o.name AS org_name, c.role
                             FROM model_api_collaborators c
                             LEFT JOIN principals p ON p.id = c.user_id
                             LEFT JOIN organizations o ON o.id = c.organization_id
                             WHERE c.model_api_id IN ",
                        );
                        push_id_list(&mut qb, chunk);
                        qb.push(" ORDER BY c.model_api_id, c.id");
                        let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                        for r in &rows {
                            let api: String = r.try_get("model_api_id").map_err(backend)?;
                            by_api.entry(api).or_default().push(collaborator_from(r)?);
                        }
                    }
                    Ok(by_api)
                }

                /// The model APIs of `rows` (selected with `SELECTED`), each with its
                /// collaborators, read for all of them at once.
                #[tracing::instrument(level = "debug", skip_all)]
                async fn model_apis_from(&self, rows: &[$row]) -> StoreResult<Vec<ModelApi>> {
                    let ids = rows.iter().map(|r| r.try_get::<String, _>("id").map_err(backend)).collect::<StoreResult<Vec<_>>>()?;
                    let mut collaborators = self.model_collaborators_of(&ids).await?;
                    let mut out = Vec::with_capacity(rows.len());
                    for (row, raw_id) in rows.iter().zip(ids) {
                        let s = |c: &str| row.try_get::<String, _>(c).map_err(backend);
                        let id = ModelApiId::parse(&raw_id).ok_or_else(|| corrupt("model API id", &raw_id))?;
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
                            collaborators: collaborators.remove(&raw_id).unwrap_or_default(),
                        });
                    }
                    Ok(out)
                }

                /// A search page read from the name order: the first `window` rows after the
                /// page's cursor, tested one by one. `None` when they hold too few matches to
                /// fill the page and there are rows after them (the caller then asks the search
                /// index); otherwise exactly the page the search index would give, as the
                /// matches of a prefix of the order are the first matches of the order.
                async fn model_api_search_walk(&self, query: &ModelApiQuery, needle: &str, window: u32) -> StoreResult<Option<Vec<$row>>> {
                    let page = &query.page;
                    let open = |qb: &mut QueryBuilder<'static, $db>| {
                        if let Some(after) = &page.after {
                            qb.push(" AND (w.name, w.id) > (")
                                .push_bind(after.key.as_text().unwrap_or_default().to_string())
                                .push(", ")
                                .push_bind(after.tie.as_text().unwrap_or_default().to_string())
                                .push(")");
                        }
                        qb.push(" ORDER BY w.name, w.id LIMIT ").push_bind(i64::from(window));
                    };
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT {SELECTED} FROM (SELECT w.id, w.name, w.project_id, w.owner_id, w.kind, w.visibility, \
                         w.access_mode, w.description, w.created_at FROM model_apis w WHERE 1 = 1"
                    ));
                    open(&mut qb);
                    qb.push(") m JOIN principals p ON p.id = m.owner_id WHERE 1 = 1");
                    push_visible(&mut qb, query);
                    push_search_test(&mut qb, needle);
                    qb.push(" ORDER BY m.name, m.id LIMIT ")
                        .push_bind(i64::from(page.limit.max(1)))
                        .push(" OFFSET ")
                        .push_bind(i64::from(page.offset));
                    let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                    if rows.len() >= page.limit.max(1) as usize {
                        return Ok(Some(rows));
                    }
                    // Fewer than a page: exact only if the walk reached the end of the order.
                    let mut qb = QueryBuilder::<$db>::new("SELECT count(*) FROM (SELECT 1 FROM model_apis w WHERE 1 = 1");
                    open(&mut qb);
                    qb.push(") walked");
                    let walked: i64 = qb.build_query_scalar().fetch_one(self.pool()).await.map_err(backend)?;
                    Ok((walked < i64::from(window)).then_some(rows))
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
                    let rows = sqlx::query(&format!("SELECT {SELECTED} {JOINED} WHERE m.id = $1"))
                        .bind(id.to_string())
                        .fetch_all(self.pool())
                        .await
                        .map_err(backend)?;
                    Ok(self.model_apis_from(&rows).await?.into_iter().next())
                }

                /// A search whose matches are common fills its page from the first rows of the
                /// name order (a walk of a few pages' rows); the search index serves the rest:
                /// rare matches, deep pages, and walks that found too few.
                async fn model_api_page(&self, query: &ModelApiQuery) -> StoreResult<Vec<ModelApi>> {
                    if let (Some(needle), Some(window)) = (needle(query), search_window(&query.page))
                        && let Some(rows) = self.model_api_search_walk(query, &needle, window).await?
                    {
                        return self.model_apis_from(&rows).await;
                    }
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {SELECTED} {JOINED} WHERE 1 = 1"));
                    push_model_api_filter(&mut qb, query);
                    push_text_page(&mut qb, "m.name", "m.id", &query.page);
                    let rows = qb.build().fetch_all(self.pool()).await.map_err(backend)?;
                    self.model_apis_from(&rows).await
                }

                /// A user's count reads the public model APIs from their index (stopping at the
                /// cap) and then the private ones the user reaches from the user's side, so that
                /// it costs at most the cap's rows plus the user's own, whatever the table's size.
                async fn count_model_apis(&self, query: &ModelApiQuery) -> StoreResult<Total> {
                    // A substring search counts within a budget of candidates: every candidate is
                    // examined (visible or not), so the work is bounded for every caller.
                    if let Some(needle) = needle(query).filter(|n| n.chars().count() >= 3) {
                        let mut qb = QueryBuilder::<$db>::new(BUDGETED_OPEN);
                        push_visible(&mut qb, query);
                        push_search_test(&mut qb, &needle);
                        qb.push(BUDGETED_FROM);
                        $store::push_model_api_candidates(&mut qb, &needle);
                        return budgeted_count(qb, self.pool()).await;
                    }
                    let mut qb = QueryBuilder::<$db>::new("SELECT count(*) FROM (SELECT 1 FROM model_apis m WHERE 1 = 1");
                    match query.visible_to {
                        None => push_search(&mut qb, query),
                        Some(user) => {
                            qb.push(" AND m.visibility = 'public'");
                            push_search(&mut qb, query);
                            qb.push(" UNION ALL SELECT 1 FROM model_apis m WHERE m.visibility <> 'public'");
                            push_reached_by(&mut qb, user);
                            push_search(&mut qb, query);
                        }
                    }
                    capped_count(qb, self.pool()).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn model_apis(&self) -> StoreResult<Vec<ModelApi>> {
                    let rows = sqlx::query(&format!("SELECT {SELECTED} {JOINED} ORDER BY m.name, m.id"))
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
