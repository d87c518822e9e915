//! The legacy API key (deprecated): one per user, replaced by regeneration.

use crate::audit::AuditEntry;
use crate::authn::Caller;
use crate::ids::CredentialId;
use crate::model::{Credential, CredentialKind};
use crate::names::TokenName;
use crate::policy;
use crate::secret::{Secret, SecretKind};

use super::{Context, ServiceResult};

#[derive(Clone)]
pub struct ApiKeyService {
    ctx: Context,
}

impl ApiKeyService {
    pub fn new(ctx: Context) -> ApiKeyService {
        ApiKeyService { ctx }
    }

    /// A new key for the caller; the previous one stops working before this returns.
    pub async fn regenerate(&self, caller: &Caller) -> ServiceResult<Secret> {
        policy::require_person(caller)?;
        let secret = Secret::generate(SecretKind::ApiKey);
        let now = self.ctx.clock.now();
        let credential = Credential {
            id: CredentialId::new(),
            kind: CredentialKind::ApiKey,
            principal_id: caller.principal().id,
            name: TokenName::from_trusted("api-key".into()),
            description: String::new(),
            hash: self.ctx.hasher.hash(secret.expose()),
            created_at: now,
            lifetime_secs: None,
            expires_at: None,
            revoked_at: None,
            revoked_reason: None,
            last_used_at: None,
            last_used_ip: None,
        };
        let audit = AuditEntry::about_credential(
            &caller.audit_actor(),
            now,
            "api-key.regenerated",
            &credential,
            caller.principal().user_name.as_str(),
        );
        let replaced = self.ctx.store.replace_api_key(&credential, &audit).await?;
        self.ctx.forget(&replaced).await;
        Ok(secret)
    }
}
