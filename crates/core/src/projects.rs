//! Projects: `ownerName/projectName`, with collaborators in project roles. Project roles also
//! grant roles on the project's model APIs (see `policy::model_api`).

use crate::ids::{ProjectId, UserId};
use crate::model::Timestamp;
use crate::names::{FieldError, UserName};
use crate::policy::model_api::{ProjectRole, Visibility};

#[derive(Clone, Debug, PartialEq)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub owner_id: UserId,
    pub owner_name: UserName,
    pub description: String,
    pub visibility: Visibility,
    pub created_at: Timestamp,
    pub collaborators: Vec<ProjectCollaborator>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProjectCollaborator {
    pub user_id: UserId,
    pub user_name: UserName,
    pub role: ProjectRole,
}

impl Project {
    /// The caller's own role: Owner for the owner, else a collaborator's role.
    pub fn role_of(&self, user: UserId) -> Option<ProjectRole> {
        if user == self.owner_id {
            return Some(ProjectRole::Owner);
        }
        self.collaborators
            .iter()
            .find(|c| c.user_id == user)
            .map(|c| c.role)
    }
}

/// A project name as Domino allows it: 1–100 of letters, digits, '-', '_' and '.'.
pub fn parse_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(FieldError::new(
            "name",
            format!("may only contain letters, digits, '-', '_' and '.'; found {bad:?}"),
        ));
    }
    Ok(name.to_string())
}

pub fn parse_visibility(field: &'static str, raw: &str) -> Result<Visibility, FieldError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "public" => Ok(Visibility::Public),
        "private" => Ok(Visibility::Private),
        _ => Err(FieldError::new(
            field,
            format!("{raw:?} must be public or private"),
        )),
    }
}

pub fn visibility_str(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "public",
        Visibility::Private => "private",
    }
}

/// Which projects a listing returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relationship {
    Owned,
    Collaborating,
    /// Owned or collaborating.
    All,
}
