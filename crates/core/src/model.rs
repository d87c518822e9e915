//! Domain records: principals, credentials and their derived status. Not wire types.

use chrono::{DateTime, Duration, Utc};

use crate::ids::{CredentialId, UserId};
use crate::names::{Email, TokenName, UserName};
use crate::roles::RoleSet;
use crate::secret::{SecretKind, TokenHash};

pub type Timestamp = DateTime<Utc>;

/// Users and service accounts share one namespace of names and ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    ServiceAccount,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::ServiceAccount => "service_account",
        }
    }

    pub fn from_storage(s: &str) -> PrincipalKind {
        if s == "service_account" {
            PrincipalKind::ServiceAccount
        } else {
            PrincipalKind::User
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    Deactivated,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
        }
    }

    pub fn from_storage(s: &str) -> UserStatus {
        if s == "active" {
            UserStatus::Active
        } else {
            UserStatus::Deactivated
        }
    }
}

/// A user or a service account as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub kind: PrincipalKind,
    pub user_name: UserName,
    pub email: Option<Email>,
    pub first_name: String,
    pub last_name: String,
    pub description: String,
    pub roles: RoleSet,
    pub status: UserStatus,
    pub created_at: Timestamp,
    pub created_by: Option<UserId>,
    /// Access tokens issued before this instant are refused (set by role changes and
    /// deactivation).
    pub tokens_not_before: Option<Timestamp>,
}

impl User {
    /// A new active principal of `kind` named `user_name` with `roles`, created at `now`: a
    /// fresh id, no email, names or description, created by no one, no token cutoff. Callers
    /// set what they know on top (`User { email, ..User::new(..) }`).
    pub fn new(kind: PrincipalKind, user_name: UserName, roles: RoleSet, now: Timestamp) -> User {
        User {
            id: UserId::new(),
            kind,
            user_name,
            email: None,
            first_name: String::new(),
            last_name: String::new(),
            description: String::new(),
            roles,
            status: UserStatus::Active,
            created_at: now,
            created_by: None,
            tokens_not_before: None,
        }
    }

    pub fn full_name(&self) -> String {
        match (self.first_name.is_empty(), self.last_name.is_empty()) {
            (false, false) => format!("{} {}", self.first_name, self.last_name),
            (false, true) => self.first_name.clone(),
            (true, false) => self.last_name.clone(),
            (true, true) => self.user_name.to_string(),
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }
}

/// The kinds of credential kept in the credentials table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    Pat,
    ServiceAccountToken,
    ApiKey,
    /// A realm-issued JWT; never stored, only presented.
    AccessToken,
    /// A web UI session (its own table, its own cookie; never an API credential).
    WebSession,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Pat => "pat",
            CredentialKind::ServiceAccountToken => "sa_token",
            CredentialKind::ApiKey => "api_key",
            CredentialKind::AccessToken => "access_token",
            CredentialKind::WebSession => "web_session",
        }
    }

    pub fn from_storage(s: &str) -> Option<CredentialKind> {
        match s {
            "pat" => Some(CredentialKind::Pat),
            "sa_token" => Some(CredentialKind::ServiceAccountToken),
            "api_key" => Some(CredentialKind::ApiKey),
            _ => None,
        }
    }

    /// The noun used in audit actions, e.g. `pat.revoked`.
    pub fn audit_noun(self) -> &'static str {
        match self {
            CredentialKind::Pat => "pat",
            CredentialKind::ServiceAccountToken => "sa-token",
            CredentialKind::ApiKey => "api-key",
            CredentialKind::AccessToken => "access-token",
            CredentialKind::WebSession => "web-session",
        }
    }

    pub fn from_secret_kind(kind: SecretKind) -> Option<CredentialKind> {
        match kind {
            SecretKind::Pat => Some(CredentialKind::Pat),
            SecretKind::ServiceAccountToken => Some(CredentialKind::ServiceAccountToken),
            SecretKind::ApiKey => Some(CredentialKind::ApiKey),
            SecretKind::ModelToken | SecretKind::Session => None,
        }
    }
}

/// A credential as stored: metadata and the keyed hash, never the secret.
#[derive(Clone, Debug, PartialEq)]
pub struct Credential {
    pub id: CredentialId,
    pub kind: CredentialKind,
    pub principal_id: UserId,
    pub name: TokenName,
    pub description: String,
    pub hash: TokenHash,
    pub created_at: Timestamp,
    /// The lifetime asked for at creation, kept so that rotation can reuse it.
    pub lifetime_secs: Option<i64>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub revoked_reason: Option<String>,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
}

/// How far ahead "Expiring Soon" looks.
pub const EXPIRING_SOON: Duration = Duration::days(7);

/// A PAT's status, derived at read time (SPEC section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    ExpiringSoon,
    Expired,
    Revoked,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "Active",
            TokenStatus::ExpiringSoon => "ExpiringSoon",
            TokenStatus::Expired => "Expired",
            TokenStatus::Revoked => "Revoked",
        }
    }

    /// Accepts the wire names and a few obvious spellings (`expiring-soon`, `expiring_soon`).
    pub fn parse(raw: &str) -> Option<TokenStatus> {
        let folded: String = raw
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match folded.as_str() {
            "active" => Some(TokenStatus::Active),
            "expiringsoon" => Some(TokenStatus::ExpiringSoon),
            "expired" => Some(TokenStatus::Expired),
            "revoked" => Some(TokenStatus::Revoked),
            _ => None,
        }
    }
}

impl Credential {
    pub fn status(&self, now: Timestamp) -> TokenStatus {
        if self.revoked_at.is_some() {
            return TokenStatus::Revoked;
        }
        match self.expires_at {
            Some(at) if at <= now => TokenStatus::Expired,
            Some(at) if at - now <= EXPIRING_SOON => TokenStatus::ExpiringSoon,
            _ => TokenStatus::Active,
        }
    }

    pub fn is_valid(&self, now: Timestamp) -> bool {
        matches!(
            self.status(now),
            TokenStatus::Active | TokenStatus::ExpiringSoon
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(expires_in: Option<Duration>, revoked: bool, now: Timestamp) -> Credential {
        Credential {
            id: CredentialId::new(),
            kind: CredentialKind::Pat,
            principal_id: UserId::new(),
            name: TokenName::from_trusted("t".into()),
            description: String::new(),
            hash: TokenHash([0; 32]),
            created_at: now,
            lifetime_secs: None,
            expires_at: expires_in.map(|d| now + d),
            revoked_at: revoked.then_some(now),
            revoked_reason: None,
            last_used_at: None,
            last_used_ip: None,
        }
    }

    #[test]
    fn status_follows_the_spec_order() {
        let now = Utc::now();
        let at = |d, r| credential(d, r, now).status(now);
        assert_eq!(at(Some(Duration::days(30)), true), TokenStatus::Revoked);
        assert_eq!(at(Some(Duration::seconds(-1)), true), TokenStatus::Revoked);
        assert_eq!(at(Some(Duration::zero()), false), TokenStatus::Expired);
        assert_eq!(
            at(Some(Duration::days(7)), false),
            TokenStatus::ExpiringSoon
        );
        assert_eq!(
            at(Some(Duration::days(7) + Duration::seconds(1)), false),
            TokenStatus::Active
        );
        assert_eq!(at(None, false), TokenStatus::Active);
    }

    #[test]
    fn status_filters_accept_common_spellings() {
        assert_eq!(
            TokenStatus::parse("expiring-soon"),
            Some(TokenStatus::ExpiringSoon)
        );
        assert_eq!(TokenStatus::parse("Revoked"), Some(TokenStatus::Revoked));
        assert_eq!(TokenStatus::parse("gone"), None);
    }
}
