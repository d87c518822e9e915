//! Model API management: creation in a project, discovery honouring visibility, settings,
//! sharing. Every check goes through `policy::model_api::decide` with the caller's roles from
//! ownership, direct collaborators, organizations and the project.

use std::collections::HashMap;

use crate::audit::AuditEntry;
use crate::authn::Caller;
use crate::ids::{CollaboratorId, ModelApiId, OrganizationId, ProjectId};
use crate::model::PrincipalKind;
use crate::model_apis::{Authorization, Grantee, ModelApi, ModelCollaborator, ModelKind};
use crate::names::{Email, FieldError, UserName};
use crate::paging::{Page, PageQuery, Total};
use crate::policy;
use crate::policy::model_api::{
    Decision, ModelAction, ModelRole, Standing, Visibility, decide, highest,
};
use crate::policy::project::{self, ProjectAction};
use crate::projects::Project;
use crate::store::{ModelApiQuery, model_api_cursor_after};

use super::{Context, ServiceError, ServiceResult, taken};

pub struct NewModelApi {
    pub name: String,
    pub project_id: ProjectId,
    pub kind: ModelKind,
    pub visibility: Visibility,
    pub authorization: Authorization,
    pub description: String,
}

/// Who a collaborator entry is for, as given by the client.
pub enum GranteeRef {
    UserName(UserName),
    Email(Email),
    Organization(String),
}

#[derive(Clone)]
pub struct ModelApiService {
    ctx: Context,
}

impl ModelApiService {
    pub fn new(ctx: Context) -> ModelApiService {
        ModelApiService { ctx }
    }

    /// The caller's relation to `api`, from every role source.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn standing(&self, caller: &Caller, api: &ModelApi) -> ServiceResult<Standing> {
        let organizations = self
            .ctx
            .store
            .organization_ids_of(caller.principal().id)
            .await?;
        self.standing_in(caller, api, &organizations).await
    }

    /// [`standing`](Self::standing) with the caller's organizations already read.
    async fn standing_in(
        &self,
        caller: &Caller,
        api: &ModelApi,
        organizations: &[OrganizationId],
    ) -> ServiceResult<Standing> {
        let project = self.ctx.store.project(api.project_id).await?;
        Ok(Self::standing_with(
            caller,
            api,
            organizations,
            project.as_ref(),
        ))
    }

    /// [`standing_in`](Self::standing_in) with the model API's project already read (`None`
    /// when it no longer exists).
    fn standing_with(
        caller: &Caller,
        api: &ModelApi,
        organizations: &[OrganizationId],
        project: Option<&Project>,
    ) -> Standing {
        let me = caller.principal().id;
        let project_role = project.and_then(|p| p.role_of(me));
        let mut roles = Vec::new();
        if api.owner_id == me {
            roles.push(ModelRole::Owner);
        }
        for c in &api.collaborators {
            let holds = match &c.grantee {
                Grantee::User { id, .. } => *id == me,
                Grantee::Organization { id, .. } => organizations.contains(id),
            };
            if holds {
                roles.push(c.role);
            }
        }
        roles.extend(project_role.map(|r| r.model_role()));
        Standing {
            authenticated: true,
            sys_admin: policy::is_admin(caller.principal()),
            role: highest(roles),
            project_role,
        }
    }

    /// Loads the model API and checks `action`: 404 when the caller may not see it, 403 when
    /// they may see it but not do this.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn authorized(
        &self,
        caller: &Caller,
        id: ModelApiId,
        action: ModelAction,
    ) -> ServiceResult<ModelApi> {
        let api = self
            .ctx
            .store
            .model_api(id)
            .await?
            .ok_or(ServiceError::NotFound("model API"))?;
        match decide(action, api.visibility, &self.standing(caller, &api).await?) {
            Decision::Allow => Ok(api),
            Decision::Forbid => Err(ServiceError::Forbidden(
                "your role on this model API does not allow this".into(),
            )),
            Decision::Hide => Err(ServiceError::NotFound("model API")),
        }
    }

    /// The caller must be an Owner or Contributor of the project (or a SysAdmin) and becomes
    /// the owner.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn create(&self, caller: &Caller, request: NewModelApi) -> ServiceResult<ModelApi> {
        policy::require_person(caller)?;
        let project = project::require(
            ProjectAction::CreateModelApi,
            caller.principal(),
            self.ctx.store.project(request.project_id).await?,
        )?;
        let api = ModelApi {
            id: ModelApiId::new(),
            name: request.name,
            project_id: project.id,
            owner_id: caller.principal().id,
            owner_name: caller.principal().user_name.clone(),
            kind: request.kind,
            visibility: request.visibility,
            authorization: request.authorization,
            description: request.description,
            created_at: self.ctx.clock.now(),
            collaborators: Vec::new(),
        };
        let audit = self.audit(caller, &api, "model-api.created");
        self.ctx
            .store
            .insert_model_api(&api, &audit)
            .await
            .map_err(taken(|| {
                format!("the project already has a model API named {:?}", api.name)
            }))?;
        Ok(api)
    }

    fn audit(&self, caller: &Caller, api: &ModelApi, action: &str) -> AuditEntry {
        AuditEntry {
            target_id: Some(api.id.to_string()),
            target_name: Some(api.name.clone()),
            ..AuditEntry::new(
                &caller.audit_actor(),
                self.ctx.clock.now(),
                action,
                "model_api",
            )
        }
    }

    /// Only what the caller may discover.
    /// The listing's query for `caller`: every model API for a SysAdmin, else those the
    /// caller may discover.
    fn listing(caller: &Caller, search: Option<&str>, page: PageQuery) -> ModelApiQuery {
        ModelApiQuery {
            visible_to: (!policy::is_admin(caller.principal())).then(|| caller.principal().id),
            search: search.map(str::to_string),
            page,
        }
    }

    /// A page of the model APIs the caller may discover, by name, whose name or description
    /// contains `search` (case-insensitive). The store finds the rows by index; the policy
    /// still decides each one, so a row the policy hides is never shown.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn page(
        &self,
        caller: &Caller,
        search: Option<&str>,
        page: PageQuery,
    ) -> ServiceResult<Page<ModelApi>> {
        let limit = page.limit;
        let query = Self::listing(caller, search, page);
        let found = self.ctx.store.model_api_page(&query).await?;
        let next = Page::of(found.clone(), limit, model_api_cursor_after).next;
        // Roles only widen what a caller may do, so a row the bare standing (authenticated,
        // SysAdmin or not, no role) already shows needs no roles read: public ones, and every
        // one for a SysAdmin.
        let bare = Standing {
            authenticated: true,
            sys_admin: policy::is_admin(caller.principal()),
            role: None,
            project_role: None,
        };
        // The others read the caller's organizations and their projects once for the page
        // (one query per table, not one per row: issue 19).
        let decided: Vec<bool> = found
            .iter()
            .map(|api| decide(ModelAction::View, api.visibility, &bare) == Decision::Allow)
            .collect();
        let mut undecided: Vec<ProjectId> = found
            .iter()
            .zip(&decided)
            .filter(|(_, shown)| !**shown)
            .map(|(api, _)| api.project_id)
            .collect();
        let (organizations, projects) = if undecided.is_empty() {
            (Vec::new(), HashMap::new())
        } else {
            undecided.sort_unstable();
            undecided.dedup();
            let me = caller.principal().id;
            let organizations = self.ctx.store.organization_ids_of(me).await?;
            let projects: HashMap<ProjectId, Project> = self
                .ctx
                .store
                .projects(&undecided)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
            (organizations, projects)
        };
        let items = found
            .into_iter()
            .zip(decided)
            .filter(|(api, shown)| {
                *shown || {
                    let project = projects.get(&api.project_id);
                    let standing = Self::standing_with(caller, api, &organizations, project);
                    decide(ModelAction::View, api.visibility, &standing) == Decision::Allow
                }
            })
            .map(|(api, _)| api)
            .collect();
        Ok(Page { items, next })
    }

    /// How many model APIs `page` would list in all (capped).
    pub async fn count(&self, caller: &Caller, search: Option<&str>) -> ServiceResult<Total> {
        let query = Self::listing(caller, search, PageQuery::default());
        Ok(self.ctx.store.count_model_apis(&query).await?)
    }

    /// The first page (up to 1,000, by name) of the model APIs the caller may discover.
    pub async fn list(
        &self,
        caller: &Caller,
        search: Option<&str>,
    ) -> ServiceResult<Vec<ModelApi>> {
        let page = PageQuery {
            limit: 1000,
            ..PageQuery::default()
        };
        Ok(self.page(caller, search, page).await?.items)
    }

    /// The model API and every action the caller may take on it, decided by the policy, so
    /// that pages offer only those.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn with_permissions(
        &self,
        caller: &Caller,
        id: ModelApiId,
    ) -> ServiceResult<(ModelApi, Vec<ModelAction>)> {
        let api = self.authorized(caller, id, ModelAction::View).await?;
        let standing = self.standing(caller, &api).await?;
        let allowed = ModelAction::ALL
            .into_iter()
            .filter(|a| decide(*a, api.visibility, &standing) == Decision::Allow)
            .collect();
        Ok((api, allowed))
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn get(&self, caller: &Caller, id: ModelApiId) -> ServiceResult<ModelApi> {
        self.authorized(caller, id, ModelAction::View).await
    }

    async fn save(&self, caller: &Caller, api: &ModelApi, action: &str) -> ServiceResult<ModelApi> {
        let audit = self.audit(caller, api, action);
        self.ctx.store.update_model_api(api, &audit).await?;
        self.ctx.forget_model_api(api.id).await;
        self.reloaded(api.id).await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: ModelApiId,
        name: Option<String>,
        description: Option<String>,
    ) -> ServiceResult<ModelApi> {
        let mut api = self
            .authorized(caller, id, ModelAction::ManageSettings)
            .await?;
        if let Some(name) = name {
            api.name = name;
        }
        if let Some(description) = description {
            api.description = description;
        }
        self.save(caller, &api, "model-api.updated").await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn set_visibility(
        &self,
        caller: &Caller,
        id: ModelApiId,
        visibility: Visibility,
    ) -> ServiceResult<ModelApi> {
        let mut api = self
            .authorized(caller, id, ModelAction::ManageSharing)
            .await?;
        api.visibility = visibility;
        self.save(caller, &api, "model-api.visibility-changed")
            .await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn set_authorization(
        &self,
        caller: &Caller,
        id: ModelApiId,
        authorization: Authorization,
    ) -> ServiceResult<ModelApi> {
        let mut api = self
            .authorized(caller, id, ModelAction::ManageSettings)
            .await?;
        api.authorization = authorization;
        self.save(caller, &api, "model-api.authorization-changed")
            .await
    }

    /// The new owner must be a user; the previous owner stays on as an editor.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn transfer(
        &self,
        caller: &Caller,
        id: ModelApiId,
        to: &UserName,
    ) -> ServiceResult<ModelApi> {
        let mut api = self
            .authorized(caller, id, ModelAction::ManageSharing)
            .await?;
        let user = self
            .ctx
            .store
            .principal_by_name(to)
            .await?
            .filter(|u| u.kind == PrincipalKind::User && u.is_active())
            .ok_or_else(|| FieldError::new("userName", format!("no active user {to}")))?;
        let previous = (api.owner_id, api.owner_name.clone());
        api.owner_id = user.id;
        api.owner_name = user.user_name;
        let api = self
            .save(caller, &api, "model-api.ownership-transferred")
            .await?;
        if previous.0 == api.owner_id {
            return Ok(api);
        }
        let keep = ModelCollaborator {
            id: CollaboratorId::new(),
            grantee: Grantee::User {
                id: previous.0,
                name: previous.1,
            },
            role: ModelRole::Editor,
        };
        self.save_collaborator(caller, &api, &keep).await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn collaborators(&self, caller: &Caller, id: ModelApiId) -> ServiceResult<ModelApi> {
        self.authorized(caller, id, ModelAction::ManageSettings)
            .await
    }

    async fn resolve(&self, grantee: GranteeRef) -> ServiceResult<Grantee> {
        match grantee {
            GranteeRef::UserName(name) => {
                let user = self
                    .ctx
                    .store
                    .principal_by_name(&name)
                    .await?
                    .filter(|u| u.kind == PrincipalKind::User);
                let user =
                    user.ok_or_else(|| FieldError::new("userName", format!("no user {name}")))?;
                Ok(Grantee::User {
                    id: user.id,
                    name: user.user_name,
                })
            }
            GranteeRef::Email(email) => {
                // By the unique index on e-mail (stored lowercased), not a search and a filter.
                let user = self
                    .ctx
                    .store
                    .principal_by_email(&email)
                    .await?
                    .filter(|u| u.kind == PrincipalKind::User);
                let user = user.ok_or_else(|| {
                    FieldError::new("email", format!("no user with e-mail {}", email.as_str()))
                })?;
                Ok(Grantee::User {
                    id: user.id,
                    name: user.user_name,
                })
            }
            GranteeRef::Organization(name) => {
                let org = self.ctx.store.organization_by_name(name.trim()).await?;
                let org = org.ok_or_else(|| {
                    FieldError::new("organization", format!("no organization {name:?}"))
                })?;
                Ok(Grantee::Organization {
                    id: org.id,
                    name: org.name,
                })
            }
        }
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn add_collaborator(
        &self,
        caller: &Caller,
        id: ModelApiId,
        grantee: GranteeRef,
        role: ModelRole,
    ) -> ServiceResult<ModelApi> {
        let api = self
            .authorized(caller, id, ModelAction::ManageSharing)
            .await?;
        let grantee = self.resolve(grantee).await?;
        if matches!(&grantee, Grantee::User { id, .. } if *id == api.owner_id) {
            return Err(FieldError::new("userName", "is the model API's owner").into());
        }
        let entry = ModelCollaborator {
            id: CollaboratorId::new(),
            grantee,
            role,
        };
        self.save_collaborator(caller, &api, &entry).await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id, collaborator = %collaborator))]
    pub async fn set_collaborator_role(
        &self,
        caller: &Caller,
        id: ModelApiId,
        collaborator: CollaboratorId,
        role: ModelRole,
    ) -> ServiceResult<ModelApi> {
        let api = self
            .authorized(caller, id, ModelAction::ManageSharing)
            .await?;
        let mut entry = api
            .collaborators
            .iter()
            .find(|c| c.id == collaborator)
            .cloned()
            .ok_or(ServiceError::NotFound("collaborator"))?;
        entry.role = role;
        self.save_collaborator(caller, &api, &entry).await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id, collaborator = %collaborator))]
    pub async fn remove_collaborator(
        &self,
        caller: &Caller,
        id: ModelApiId,
        collaborator: CollaboratorId,
    ) -> ServiceResult<ModelApi> {
        let api = self
            .authorized(caller, id, ModelAction::ManageSharing)
            .await?;
        if !self
            .ctx
            .store
            .remove_model_collaborator(
                id,
                collaborator,
                &self.audit(caller, &api, "model-api.collaborator-removed"),
            )
            .await?
        {
            return Err(ServiceError::NotFound("collaborator"));
        }
        self.reloaded(id).await
    }

    /// Stores a collaborator (new or with a new role), audited, and answers the API as it is now.
    async fn save_collaborator(
        &self,
        caller: &Caller,
        api: &ModelApi,
        entry: &ModelCollaborator,
    ) -> ServiceResult<ModelApi> {
        self.ctx
            .store
            .set_model_collaborator(
                api.id,
                entry,
                &self.audit(caller, api, "model-api.collaborator-set"),
            )
            .await?;
        self.reloaded(api.id).await
    }

    /// The model API as stored now (after a change).
    async fn reloaded(&self, id: ModelApiId) -> ServiceResult<ModelApi> {
        self.ctx
            .store
            .model_api(id)
            .await?
            .ok_or(ServiceError::NotFound("model API"))
    }
}
