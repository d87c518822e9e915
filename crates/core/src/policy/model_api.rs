//! Who may do what with a model API (SPEC section 6). The only place that decides it: handlers,
//! the UI and invocation all ask `decide`.
//!
//! Roles come from the owner, direct collaborators, organizations and project collaborators; the
//! highest wins. A caller who may not even view a private model API is told it does not exist.

/// A model API role, ordered: a higher role can do everything a lower one can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModelRole {
    Viewer,
    Editor,
    Owner,
}

impl ModelRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelRole::Viewer => "viewer",
            ModelRole::Editor => "editor",
            ModelRole::Owner => "owner",
        }
    }

    pub fn parse(raw: &str) -> Option<ModelRole> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(ModelRole::Viewer),
            "editor" => Some(ModelRole::Editor),
            "owner" => Some(ModelRole::Owner),
            _ => None,
        }
    }
}

/// A project role (Domino's `projectRole`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProjectRole {
    Owner,
    Contributor,
    ResultsConsumer,
    LauncherUser,
}

impl ProjectRole {
    pub const ALL: [ProjectRole; 4] = [
        ProjectRole::Owner,
        ProjectRole::Contributor,
        ProjectRole::ResultsConsumer,
        ProjectRole::LauncherUser,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProjectRole::Owner => "Owner",
            ProjectRole::Contributor => "Contributor",
            ProjectRole::ResultsConsumer => "ResultsConsumer",
            ProjectRole::LauncherUser => "LauncherUser",
        }
    }

    pub fn parse(raw: &str) -> Option<ProjectRole> {
        ProjectRole::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(raw.trim()))
    }

    /// What a project role grants on every model API of the project.
    pub fn model_role(self) -> ModelRole {
        match self {
            ProjectRole::Owner => ModelRole::Owner,
            ProjectRole::Contributor => ModelRole::Editor,
            ProjectRole::ResultsConsumer | ProjectRole::LauncherUser => ModelRole::Viewer,
        }
    }

    /// May deploy new versions when also an editor of the model API.
    pub fn can_deploy(self) -> bool {
        matches!(self, ProjectRole::Owner | ProjectRole::Contributor)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Private,
}

/// The actions of SPEC section 6's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelAction {
    /// Search, discover, view overview and versions.
    View,
    ViewLogs,
    /// View and change settings, except visibility and collaborators.
    ManageSettings,
    Deploy,
    ViewAudit,
    /// See access tokens, create new ones.
    ManageTokens,
    RevokeTokens,
    /// Invite or remove collaborators, change visibility, transfer ownership.
    ManageSharing,
}

impl ModelAction {
    pub const ALL: [ModelAction; 8] = [
        ModelAction::View,
        ModelAction::ViewLogs,
        ModelAction::ManageSettings,
        ModelAction::Deploy,
        ModelAction::ViewAudit,
        ModelAction::ManageTokens,
        ModelAction::RevokeTokens,
        ModelAction::ManageSharing,
    ];
}

/// Everything known about the caller's relation to one model API.
#[derive(Clone, Copy, Debug, Default)]
pub struct Standing {
    /// `None` for an anonymous caller.
    pub authenticated: bool,
    pub sys_admin: bool,
    /// The highest role from ownership, collaborators, organizations and the project.
    pub role: Option<ModelRole>,
    /// The caller's own role in the model API's project, if any.
    pub project_role: Option<ProjectRole>,
}

/// The highest of the roles a caller holds through every source.
pub fn highest(roles: impl IntoIterator<Item = ModelRole>) -> Option<ModelRole> {
    roles.into_iter().max()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The caller may see the model API but not do this: 403.
    Forbid,
    /// The caller may not even see it: 404, as if it did not exist.
    Hide,
}

/// Decides `action` on a model API of `visibility` for a caller of `standing`.
pub fn decide(action: ModelAction, visibility: Visibility, standing: &Standing) -> Decision {
    if standing.sys_admin {
        return Decision::Allow;
    }
    let can_view = match visibility {
        Visibility::Public => standing.authenticated,
        Visibility::Private => standing.role.is_some(),
    };
    if !can_view {
        return Decision::Hide;
    }
    let role = standing.role;
    let at_least = |r: ModelRole| role.is_some_and(|have| have >= r);
    let allowed = match action {
        ModelAction::View => true,
        ModelAction::ViewLogs => at_least(ModelRole::Viewer),
        ModelAction::ManageSettings | ModelAction::ViewAudit | ModelAction::ManageTokens => {
            at_least(ModelRole::Editor)
        }
        ModelAction::Deploy => {
            at_least(ModelRole::Owner)
                || (at_least(ModelRole::Editor)
                    && standing.project_role.is_some_and(ProjectRole::can_deploy))
        }
        ModelAction::RevokeTokens | ModelAction::ManageSharing => at_least(ModelRole::Owner),
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Forbid
    }
}

/// Whether the caller sees versions' upstream URLs. A version's upstream URL is a setting
/// (SPEC section 6): owners, editors and SysAdmins see it; viewers, and on a public model API
/// every other user, see the versions without it.
pub fn sees_upstream_urls(visibility: Visibility, standing: &Standing) -> bool {
    decide(ModelAction::ManageSettings, visibility, standing) == Decision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;
    use ModelAction::*;

    /// SPEC section 6, row by row: which roles may act, by visibility. `A` (any authenticated
    /// user) matters only for viewing a public model API.
    fn table(action: ModelAction) -> &'static [ModelRole] {
        match action {
            View | ViewLogs => &[ModelRole::Owner, ModelRole::Editor, ModelRole::Viewer],
            ManageSettings | ViewAudit | ManageTokens => &[ModelRole::Owner, ModelRole::Editor],
            Deploy => &[ModelRole::Owner],
            RevokeTokens | ManageSharing => &[ModelRole::Owner],
        }
    }

    fn standing(role: Option<ModelRole>) -> Standing {
        Standing {
            authenticated: true,
            sys_admin: false,
            role,
            project_role: None,
        }
    }

    #[test]
    fn every_action_for_every_role_and_visibility_follows_the_spec_table() {
        for action in ModelAction::ALL {
            for visibility in [Visibility::Public, Visibility::Private] {
                for role in [
                    None,
                    Some(ModelRole::Viewer),
                    Some(ModelRole::Editor),
                    Some(ModelRole::Owner),
                ] {
                    let got = decide(action, visibility, &standing(role));
                    let expected = match role {
                        Some(r) if table(action).contains(&r) => Decision::Allow,
                        None if visibility == Visibility::Private => Decision::Hide,
                        None if action == View => Decision::Allow,
                        _ => Decision::Forbid,
                    };
                    assert_eq!(got, expected, "{action:?} {visibility:?} {role:?}");
                }
            }
        }
    }

    #[test]
    fn anonymous_callers_see_nothing_and_admins_everything() {
        for action in ModelAction::ALL {
            for visibility in [Visibility::Public, Visibility::Private] {
                assert_eq!(
                    decide(action, visibility, &Standing::default()),
                    Decision::Hide
                );
                let admin = Standing {
                    authenticated: true,
                    sys_admin: true,
                    ..Standing::default()
                };
                assert_eq!(decide(action, visibility, &admin), Decision::Allow);
            }
        }
    }

    #[test]
    fn an_editor_deploys_only_when_also_project_owner_or_contributor() {
        for project_role in ProjectRole::ALL {
            let s = Standing {
                project_role: Some(project_role),
                ..standing(Some(ModelRole::Editor))
            };
            let expected = if project_role.can_deploy() {
                Decision::Allow
            } else {
                Decision::Forbid
            };
            assert_eq!(
                decide(Deploy, Visibility::Private, &s),
                expected,
                "{project_role:?}"
            );
        }
    }

    #[test]
    fn only_owners_editors_and_admins_see_upstream_urls() {
        for visibility in [Visibility::Public, Visibility::Private] {
            for (role, sees) in [
                (None, false),
                (Some(ModelRole::Viewer), false),
                (Some(ModelRole::Editor), true),
                (Some(ModelRole::Owner), true),
            ] {
                assert_eq!(
                    sees_upstream_urls(visibility, &standing(role)),
                    sees,
                    "{visibility:?} {role:?}"
                );
            }
            let admin = Standing {
                authenticated: true,
                sys_admin: true,
                ..Standing::default()
            };
            assert!(sees_upstream_urls(visibility, &admin));
            assert!(!sees_upstream_urls(visibility, &Standing::default()));
        }
    }

    #[test]
    fn the_highest_role_wins_and_project_roles_map_as_the_spec_says() {
        assert_eq!(
            highest([ModelRole::Viewer, ModelRole::Owner, ModelRole::Editor]),
            Some(ModelRole::Owner)
        );
        assert_eq!(highest([]), None);
        assert_eq!(ProjectRole::Owner.model_role(), ModelRole::Owner);
        assert_eq!(ProjectRole::Contributor.model_role(), ModelRole::Editor);
        assert_eq!(ProjectRole::ResultsConsumer.model_role(), ModelRole::Viewer);
        assert_eq!(ProjectRole::LauncherUser.model_role(), ModelRole::Viewer);
    }
}
