//! Audit entries: who did what to what, when, from where, with which credential (never its secret).

use serde_json::Value;

use crate::ids::{AuditId, CredentialId, UserId};
use crate::model::{Credential, Timestamp, User};

/// The acting principal and how it authenticated, as recorded in the audit log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditActor {
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub ip: Option<String>,
    pub credential_id: Option<CredentialId>,
    pub credential_name: Option<String>,
}

impl AuditActor {
    /// An operator at the command line, with direct access to the database.
    pub fn command_line() -> AuditActor {
        AuditActor {
            user_name: Some("tessera-cli".into()),
            ..AuditActor::default()
        }
    }

    /// The server itself, for example the first-start bootstrap.
    pub fn system() -> AuditActor {
        AuditActor {
            user_name: Some("system".into()),
            ..AuditActor::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: Timestamp,
    pub actor: AuditActor,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub details: Value,
}

impl AuditEntry {
    pub fn new(actor: &AuditActor, at: Timestamp, action: &str, target_type: &str) -> AuditEntry {
        AuditEntry {
            id: AuditId::new(),
            at,
            actor: actor.clone(),
            action: action.to_string(),
            target_type: target_type.to_string(),
            target_id: None,
            target_name: None,
            details: Value::Null,
        }
    }

    pub fn about_user(actor: &AuditActor, at: Timestamp, action: &str, user: &User) -> AuditEntry {
        AuditEntry {
            target_id: Some(user.id.to_string()),
            target_name: Some(user.user_name.to_string()),
            ..AuditEntry::new(actor, at, action, user.kind.as_str())
        }
    }

    /// An entry about a credential; `owner` is recorded in the details.
    pub fn about_credential(
        actor: &AuditActor,
        at: Timestamp,
        action: &str,
        credential: &Credential,
        owner_name: &str,
    ) -> AuditEntry {
        AuditEntry {
            target_id: Some(credential.id.to_string()),
            target_name: Some(credential.name.to_string()),
            details: serde_json::json!({ "owner": owner_name }),
            ..AuditEntry::new(actor, at, action, credential.kind.as_str())
        }
    }

    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> AuditEntry {
        if !self.details.is_object() {
            self.details = Value::Object(Default::default());
        }
        if let Value::Object(map) = &mut self.details {
            map.insert(key.to_string(), value.into());
        }
        self
    }
}

/// Filters of `GET /api/admin/v1/audit`.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Start after this entry (keyset pagination, order [`AuditQuery::CURSOR_TAG`]).
    pub after: Option<crate::paging::Cursor>,
    pub offset: u32,
    pub limit: u32,
}

impl AuditQuery {
    /// Entries are listed newest first by time (`at`, ms), then by order of writing.
    pub const CURSOR_TAG: &'static str = "audit";

    /// Reads a wire cursor for this order (a 400 naming `cursor` otherwise).
    pub fn decode_cursor(raw: &str) -> Result<crate::paging::Cursor, crate::names::FieldError> {
        crate::paging::Cursor::decode(raw, Self::CURSOR_TAG, true, true)
    }
}
