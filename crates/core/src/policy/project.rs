//! Who may do what with a project (SPEC section 6, Domino's project roles). The only place that
//! decides it: the project and model-API services ask `decide`.
//!
//! A private project is hidden (404) from anyone who is neither its owner, a collaborator nor a
//! SysAdmin; a public one can be seen by every authenticated caller.

use crate::model::User;
use crate::policy::model_api::{Decision, ProjectRole, Visibility};
use crate::projects::Project;
use crate::services::ServiceError;

/// What a caller wants to do with a project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectAction {
    /// Read the project, find it by owner and name.
    View,
    /// Add, change or remove collaborators: the project's owner or a SysAdmin (Domino's rule;
    /// a collaborator given the `Owner` project role does not manage the project).
    Manage,
    /// Create a model API in the project: Owner or Contributor (as for deploying a version).
    CreateModelApi,
}

/// What the caller is to the project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectStanding {
    pub sys_admin: bool,
    /// The caller is the project's owner (`ownerId`).
    pub owner: bool,
    /// The caller's project role: `Owner` for the owner, the collaborator role otherwise.
    pub role: Option<ProjectRole>,
}

impl ProjectStanding {
    /// What `user` is to `project`.
    pub fn of(user: &User, project: &Project) -> ProjectStanding {
        ProjectStanding {
            sys_admin: super::is_admin(user),
            owner: project.owner_id == user.id,
            role: project.role_of(user.id),
        }
    }
}

/// The project, when `user` may do `action` with it.
///
/// # Errors
/// `NotFound("project")` when there is no project or the caller may not see it (a private
/// project is not revealed); `Forbidden` naming the role needed when they may see it only.
pub fn require(
    action: ProjectAction,
    user: &User,
    project: Option<Project>,
) -> Result<Project, ServiceError> {
    let project = project.ok_or(ServiceError::NotFound("project"))?;
    match decide(
        action,
        project.visibility,
        &ProjectStanding::of(user, &project),
    ) {
        Decision::Allow => Ok(project),
        Decision::Hide => Err(ServiceError::NotFound("project")),
        Decision::Forbid => Err(ServiceError::Forbidden(
            match action {
                ProjectAction::View => "viewing this project is not allowed",
                ProjectAction::Manage => "managing a project needs to be its owner or a SysAdmin",
                ProjectAction::CreateModelApi => {
                    "creating a model API needs the Owner or Contributor role in its project"
                }
            }
            .into(),
        )),
    }
}

/// Decides `action` on a project of `visibility` for a caller of `standing`: `Hide` (404) when
/// the caller may not see it, `Forbid` (403) when they may see it but not do this.
pub fn decide(
    action: ProjectAction,
    visibility: Visibility,
    standing: &ProjectStanding,
) -> Decision {
    if standing.sys_admin {
        return Decision::Allow;
    }
    let can_view = visibility == Visibility::Public || standing.owner || standing.role.is_some();
    if !can_view {
        return Decision::Hide;
    }
    let allowed = match action {
        ProjectAction::View => true,
        ProjectAction::Manage => standing.owner,
        ProjectAction::CreateModelApi => standing.role.is_some_and(ProjectRole::can_deploy),
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Forbid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VISIBILITIES: [Visibility; 2] = [Visibility::Public, Visibility::Private];

    fn standings() -> Vec<(&'static str, ProjectStanding)> {
        let member = |role| ProjectStanding {
            sys_admin: false,
            owner: false,
            role: Some(role),
        };
        vec![
            (
                "owner",
                ProjectStanding {
                    sys_admin: false,
                    owner: true,
                    role: Some(ProjectRole::Owner),
                },
            ),
            ("collaborator Owner", member(ProjectRole::Owner)),
            ("Contributor", member(ProjectRole::Contributor)),
            ("ResultsConsumer", member(ProjectRole::ResultsConsumer)),
            ("LauncherUser", member(ProjectRole::LauncherUser)),
            (
                "stranger",
                ProjectStanding {
                    sys_admin: false,
                    owner: false,
                    role: None,
                },
            ),
            (
                "SysAdmin",
                ProjectStanding {
                    sys_admin: true,
                    owner: false,
                    role: None,
                },
            ),
        ]
    }

    /// The expected decision, written as the table a reader checks against the spec.
    fn expected(action: ProjectAction, visibility: Visibility, who: &str) -> Decision {
        use Decision::{Allow, Forbid, Hide};
        match (who, visibility) {
            ("SysAdmin", _) => Allow,
            ("stranger", Visibility::Private) => Hide,
            _ => match (action, who) {
                (ProjectAction::View, _) => Allow,
                (ProjectAction::Manage, "owner") => Allow,
                (ProjectAction::Manage, _) => Forbid,
                (ProjectAction::CreateModelApi, "owner" | "collaborator Owner" | "Contributor") => {
                    Allow
                }
                (ProjectAction::CreateModelApi, _) => Forbid,
            },
        }
    }

    #[test]
    fn every_action_for_every_standing_and_visibility_follows_the_table() {
        let actions = [
            ProjectAction::View,
            ProjectAction::Manage,
            ProjectAction::CreateModelApi,
        ];
        let mut checked = 0;
        for action in actions {
            for visibility in VISIBILITIES {
                for (who, standing) in standings() {
                    assert_eq!(
                        decide(action, visibility, &standing),
                        expected(action, visibility, who),
                        "{action:?} on a {visibility:?} project by {who}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 3 * 2 * 7);
    }

    #[test]
    fn a_public_project_is_visible_but_not_manageable_by_strangers() {
        let stranger = ProjectStanding {
            sys_admin: false,
            owner: false,
            role: None,
        };
        assert_eq!(
            decide(ProjectAction::View, Visibility::Public, &stranger),
            Decision::Allow
        );
        assert_eq!(
            decide(ProjectAction::Manage, Visibility::Public, &stranger),
            Decision::Forbid
        );
        assert_eq!(
            decide(ProjectAction::Manage, Visibility::Private, &stranger),
            Decision::Hide
        );
    }
}
