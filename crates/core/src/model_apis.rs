//! Model APIs: a deployed model in a project, with its sharing (visibility, collaborators) and
//! invocation (restricted or not) settings. Records only; `policy::model_api` decides access.

use crate::ids::{CollaboratorId, ModelApiId, OrganizationId, ProjectId, UserId};
use crate::model::Timestamp;
use crate::names::{FieldError, UserName};
use crate::policy::model_api::{ModelRole, Visibility};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    Sync,
    Async,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Sync => "sync",
            ModelKind::Async => "async",
        }
    }

    pub fn parse(field: &'static str, raw: &str) -> Result<ModelKind, FieldError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "sync" => Ok(ModelKind::Sync),
            "async" => Ok(ModelKind::Async),
            _ => Err(FieldError::new(
                field,
                format!("{raw:?} must be sync or async"),
            )),
        }
    }
}

/// Who may invoke: anyone who reaches the deployment, or holders of the model's access tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authorization {
    Restricted,
    Unrestricted,
}

impl Authorization {
    pub fn as_str(self) -> &'static str {
        match self {
            Authorization::Restricted => "restricted",
            Authorization::Unrestricted => "unrestricted",
        }
    }

    pub fn parse(field: &'static str, raw: &str) -> Result<Authorization, FieldError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "restricted" => Ok(Authorization::Restricted),
            "unrestricted" => Ok(Authorization::Unrestricted),
            _ => Err(FieldError::new(
                field,
                format!("{raw:?} must be restricted or unrestricted"),
            )),
        }
    }
}

/// A collaborator is a user or an organization (granting its role to every member).
#[derive(Clone, Debug, PartialEq)]
pub enum Grantee {
    User { id: UserId, name: UserName },
    Organization { id: OrganizationId, name: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelCollaborator {
    pub id: CollaboratorId,
    pub grantee: Grantee,
    pub role: ModelRole,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelApi {
    pub id: ModelApiId,
    pub name: String,
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub owner_name: UserName,
    pub kind: ModelKind,
    pub visibility: Visibility,
    pub authorization: Authorization,
    pub description: String,
    pub created_at: Timestamp,
    pub collaborators: Vec<ModelCollaborator>,
}

/// A model API name: 1–100 characters of letters, digits, spaces, '-', '_' and '.'.
pub fn parse_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.')))
    {
        return Err(FieldError::new(
            "name",
            format!("may only contain letters, digits, spaces, '-', '_' and '.'; found {bad:?}"),
        ));
    }
    Ok(name.to_string())
}

/// A deployed version: an upstream model server.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelVersion {
    pub number: i64,
    pub upstream_url: String,
    pub description: String,
    pub created_at: Timestamp,
    pub active: bool,
}

/// A version as one caller sees it: the upstream URL only when the policy shows it to them
/// (`policy::model_api::sees_upstream_urls`).
#[derive(Clone, Debug, PartialEq)]
pub struct VersionView {
    pub number: i64,
    pub upstream_url: Option<String>,
    pub description: String,
    pub created_at: Timestamp,
    pub active: bool,
}

impl VersionView {
    pub fn of(version: ModelVersion, show_upstream: bool) -> VersionView {
        VersionView {
            number: version.number,
            upstream_url: show_upstream.then_some(version.upstream_url),
            description: version.description,
            created_at: version.created_at,
            active: version.active,
        }
    }
}

/// A named access token of one model API. The secret is kept hashed for verification and
/// sealed (AES-256-GCM) so that owners and editors can reveal it, as Domino allows.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelToken {
    pub id: crate::ids::ModelTokenId,
    pub model_api_id: ModelApiId,
    pub name: crate::names::TokenName,
    pub hash: crate::secret::TokenHash,
    pub sealed: Vec<u8>,
    pub created_at: Timestamp,
    pub created_by: UserName,
    pub revoked_at: Option<Timestamp>,
}

/// One invocation, as logged: never the token's value, only its name.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    pub model_api_id: ModelApiId,
    pub at: Timestamp,
    pub version: Option<i64>,
    pub status: u16,
    pub latency_ms: i64,
    pub token_name: Option<String>,
}

/// An invocation read back from the log, with its place there: `seq` grows in the order the
/// entries were written and is unique, so it alone orders and places a page (newest first).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedInvocation {
    pub seq: i64,
    pub entry: Invocation,
}
