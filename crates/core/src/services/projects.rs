//! Projects: creation, discovery and collaborators. A private project is invisible (404) to
//! anyone but its owner, its collaborators and administrators; only the owner or a SysAdmin
//! changes collaborators.

use crate::audit::AuditEntry;
use crate::authn::Caller;
use crate::ids::{ProjectId, UserId};
use crate::model::{PrincipalKind, Timestamp};
use crate::names::{FieldError, UserName};
use crate::paging::{Page, PageQuery, Total};
use crate::policy;
use crate::policy::model_api::{ProjectRole, Visibility};
use crate::policy::project::{self, ProjectAction};
use crate::projects::{Project, ProjectCollaborator, Relationship};
use crate::store::project_cursor_after;

use super::{Context, ServiceError, ServiceResult, taken};

pub struct NewProject {
    pub name: String,
    pub owner: Option<UserId>,
    pub description: String,
    pub visibility: Visibility,
    pub collaborators: Vec<(UserId, ProjectRole)>,
}

#[derive(Clone)]
pub struct ProjectService {
    ctx: Context,
}

impl ProjectService {
    pub fn new(ctx: Context) -> ProjectService {
        ProjectService { ctx }
    }

    async fn person(&self, id: UserId, field: &'static str) -> ServiceResult<crate::model::User> {
        self.ctx
            .store
            .principal(id)
            .await?
            .filter(|u| u.kind == PrincipalKind::User)
            .ok_or_else(|| FieldError::new(field, format!("no user with id {id}")).into())
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn create(&self, caller: &Caller, request: NewProject) -> ServiceResult<Project> {
        let owner_id = request.owner.unwrap_or(caller.principal().id);
        if owner_id != caller.principal().id {
            policy::require_admin(caller)?;
        } else {
            policy::require_person(caller)?;
        }
        let owner = self.person(owner_id, "ownerId").await?;
        let mut collaborators = Vec::new();
        for (id, role) in request.collaborators {
            if id == owner_id {
                return Err(FieldError::new(
                    "collaborators",
                    "the owner is not a collaborator of their own project",
                )
                .into());
            }
            let user = self.person(id, "collaborators").await?;
            collaborators.push(ProjectCollaborator {
                user_id: user.id,
                user_name: user.user_name,
                role,
            });
        }
        let project = Project {
            id: ProjectId::new(),
            name: request.name,
            owner_id,
            owner_name: owner.user_name,
            description: request.description,
            visibility: request.visibility,
            created_at: self.ctx.clock.now(),
            collaborators,
        };
        let audit = audit(caller, &project, project.created_at, "project.created");
        self.ctx
            .store
            .insert_project(&project, &audit)
            .await
            .map_err(taken(|| {
                format!(
                    "{} already has a project named {:?}",
                    project.owner_name, project.name
                )
            }))?;
        Ok(project)
    }

    fn shown(caller: &Caller, project: Option<Project>) -> ServiceResult<Project> {
        project::require(ProjectAction::View, caller.principal(), project)
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn get(&self, caller: &Caller, id: ProjectId) -> ServiceResult<Project> {
        Self::shown(caller, self.ctx.store.project(id).await?)
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn find(
        &self,
        caller: &Caller,
        owner: &UserName,
        name: &str,
    ) -> ServiceResult<Project> {
        Self::shown(
            caller,
            self.ctx
                .store
                .project_by_owner_and_name(owner, name)
                .await?,
        )
    }

    /// A page of the projects the caller owns or collaborates on, per `relationship`, by name.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn page(
        &self,
        caller: &Caller,
        relationship: Relationship,
        query: PageQuery,
    ) -> ServiceResult<Page<Project>> {
        let found = self
            .ctx
            .store
            .projects_of(caller.principal().id, relationship, &query)
            .await?;
        Ok(Page::of(found, query.limit, project_cursor_after))
    }

    /// How many projects `page` would list in all (capped).
    pub async fn count(&self, caller: &Caller, relationship: Relationship) -> ServiceResult<Total> {
        Ok(self
            .ctx
            .store
            .count_projects_of(caller.principal().id, relationship)
            .await?)
    }

    /// Owner or SysAdmin only; anyone else who can see the project gets 403.
    async fn managed(&self, caller: &Caller, id: ProjectId) -> ServiceResult<Project> {
        project::require(
            ProjectAction::Manage,
            caller.principal(),
            self.ctx.store.project(id).await?,
        )
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id, user = %user))]
    pub async fn set_collaborator(
        &self,
        caller: &Caller,
        id: ProjectId,
        user: UserId,
        role: ProjectRole,
    ) -> ServiceResult<Project> {
        let project = self.managed(caller, id).await?;
        if user == project.owner_id {
            return Err(FieldError::new("collaboratorId", "is the project's owner").into());
        }
        let collaborator = self.person(user, "collaboratorId").await?;
        let audit = audit(
            caller,
            &project,
            self.ctx.clock.now(),
            "project.collaborator-set",
        )
        .with_detail("collaborator", collaborator.user_name.as_str())
        .with_detail("projectRole", role.as_str());
        self.ctx
            .store
            .set_project_collaborator(id, user, role, &audit)
            .await?;
        self.get(caller, id).await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id, user = %user))]
    pub async fn remove_collaborator(
        &self,
        caller: &Caller,
        id: ProjectId,
        user: UserId,
    ) -> ServiceResult<Project> {
        let project = self.managed(caller, id).await?;
        let audit = audit(
            caller,
            &project,
            self.ctx.clock.now(),
            "project.collaborator-removed",
        )
        .with_detail("collaboratorId", user.to_string());
        if !self
            .ctx
            .store
            .remove_project_collaborator(id, user, &audit)
            .await?
        {
            return Err(ServiceError::NotFound("collaborator"));
        }
        self.get(caller, id).await
    }
}

/// The audit entry of `action` by `caller` on `project` (named `owner/name`), at `at`.
fn audit(caller: &Caller, project: &Project, at: Timestamp, action: &str) -> AuditEntry {
    AuditEntry {
        target_id: Some(project.id.to_string()),
        target_name: Some(format!("{}/{}", project.owner_name, project.name)),
        ..AuditEntry::new(&caller.audit_actor(), at, action, "project")
    }
}
