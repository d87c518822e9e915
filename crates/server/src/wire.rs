//! Wire types: the JSON shapes clients see, kept apart from the domain records.

use serde::Serialize;
use tessera_core::audit::AuditEntry;
use tessera_core::model::{Credential, Timestamp, User};
use tessera_core::sso::FederatedIdentity;
use utoipa::ToSchema;

/// ISO-8601 UTC with milliseconds, e.g. `2026-11-22T16:40:00.000Z`.
pub fn time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn opt_time(t: Option<Timestamp>) -> Option<String> {
    t.map(time)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatJson {
    pub pat_id: String,
    pub user_id: String,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub is_valid: bool,
    #[schema(value_type = String)]
    pub status: &'static str,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The secret, present only in the response that creates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl PatJson {
    pub fn new(c: &Credential, now: Timestamp) -> PatJson {
        PatJson {
            pat_id: c.id.to_string(),
            user_id: c.principal_id.to_string(),
            name: c.name.to_string(),
            description: c.description.clone(),
            created_at: time(c.created_at),
            expires_at: opt_time(c.expires_at),
            is_valid: c.is_valid(now),
            status: c.status(now).as_str(),
            last_used_at: opt_time(c.last_used_at),
            revoked_at: opt_time(c.revoked_at),
            user_name: None,
            token: None,
        }
    }
}

/// `/v4/users/self` and `/v4/users` entries (Domino).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DominoUserJson {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    pub user_name: String,
    pub email: String,
    pub avatar_url: String,
}

impl DominoUserJson {
    pub fn new(u: &User) -> DominoUserJson {
        DominoUserJson {
            id: u.id.to_string(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            full_name: u.full_name(),
            user_name: u.user_name.to_string(),
            email: u
                .email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_default(),
            avatar_url: String::new(),
        }
    }
}

/// A user's link to an identity provider (single sign-on), after Keycloak's
/// `FederatedIdentityRepresentation`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FederatedIdentityJson {
    /// The provider's name in Tessera's configuration (`[[sso.providers]] name`), e.g. `corp`.
    pub provider: String,
    /// The person's subject (`sub`) at the provider: what links them to this user.
    pub subject: String,
    /// The person's user name at the provider (its `username_claim`, or the subject when the
    /// claim was missing) at their last sign-in; null for a link made before Tessera kept it,
    /// until the next sign-in.
    pub user_name: Option<String>,
}

/// Administration view of a user.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUserJson {
    pub id: String,
    pub user_name: String,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<&'static str>,
    #[schema(value_type = String)]
    pub status: &'static str,
    pub created_at: String,
    /// The identity providers this user signs in with (single sign-on); an empty list for a
    /// local account (made by an administrator, signing in with a password).
    pub federated_identities: Vec<FederatedIdentityJson>,
}

impl AdminUserJson {
    /// `u` with its provider links `links` (empty for a local account).
    pub fn new(u: &User, links: &[FederatedIdentity]) -> AdminUserJson {
        AdminUserJson {
            id: u.id.to_string(),
            user_name: u.user_name.to_string(),
            email: u.email.as_ref().map(|e| e.as_str().to_string()),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            full_name: u.full_name(),
            roles: u.roles.iter().map(|r| r.as_str()).collect(),
            status: u.status.as_str(),
            created_at: time(u.created_at),
            federated_identities: links
                .iter()
                .map(|l| FederatedIdentityJson {
                    provider: l.provider.clone(),
                    subject: l.subject.clone(),
                    user_name: l.user_name.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountJson {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub description: String,
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<&'static str>,
    pub is_active: bool,
    pub created_at: String,
    pub idp_id: String,
}

impl ServiceAccountJson {
    pub fn new(u: &User) -> ServiceAccountJson {
        ServiceAccountJson {
            id: u.id.to_string(),
            username: u.user_name.to_string(),
            email: u.email.as_ref().map(|e| e.as_str().to_string()),
            description: u.description.clone(),
            roles: u.roles.iter().map(|r| r.as_str()).collect(),
            is_active: u.is_active(),
            created_at: time(u.created_at),
            idp_id: u.id.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountTokenJson {
    pub name: String,
    pub service_account_idp_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub is_valid: bool,
    #[schema(value_type = String)]
    pub status: &'static str,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl ServiceAccountTokenJson {
    pub fn new(account: &User, c: &Credential, now: Timestamp) -> ServiceAccountTokenJson {
        ServiceAccountTokenJson {
            name: c.name.to_string(),
            service_account_idp_id: account.id.to_string(),
            token: None,
            is_valid: c.is_valid(now),
            status: c.status(now).as_str(),
            created_at: time(c.created_at),
            expires_at: opt_time(c.expires_at),
            last_used_at: opt_time(c.last_used_at),
            revoked_at: opt_time(c.revoked_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditJson {
    pub id: String,
    pub at: String,
    pub action: String,
    pub actor: AuditActorJson,
    pub target: AuditTargetJson,
    /// What the action changed, by action; never a secret.
    pub details: serde_json::Value,
}

impl AuditJson {
    pub fn new(e: &AuditEntry) -> AuditJson {
        AuditJson {
            id: e.id.to_string(),
            at: time(e.at),
            action: e.action.clone(),
            actor: AuditActorJson {
                id: e.actor.user_id.map(|id| id.to_string()),
                user_name: e.actor.user_name.clone(),
                ip: e.actor.ip.clone(),
                credential_id: e.actor.credential_id.map(|id| id.to_string()),
                credential_name: e.actor.credential_name.clone(),
            },
            target: AuditTargetJson {
                kind: e.target_type.clone(),
                id: e.target_id.clone(),
                name: e.target_name.clone(),
            },
            details: e.details.clone(),
        }
    }
}

/// Who acted, in an audit entry: the credential by id and name, never its secret.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditActorJson {
    pub id: Option<String>,
    pub user_name: Option<String>,
    pub ip: Option<String>,
    pub credential_id: Option<String>,
    pub credential_name: Option<String>,
}

/// What was acted on, in an audit entry.
#[derive(Serialize, ToSchema)]
pub struct AuditTargetJson {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub name: Option<String>,
}

/// How many records a bulk operation affected.
#[derive(Serialize, ToSchema)]
pub struct CountJson {
    pub count: usize,
}
