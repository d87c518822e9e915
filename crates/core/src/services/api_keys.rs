//! The legacy API key (deprecated): one per user, replaced by regeneration.

use crate::audit::AuditEntry;
use crate::authn::Caller;
use crate::model::CredentialKind;
use crate::names::TokenName;
use crate::policy;
use crate::secret::Secret;

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
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn regenerate(&self, caller: &Caller) -> ServiceResult<Secret> {
        policy::require_person(caller)?;
        let (credential, secret) = self.ctx.new_credential(
            CredentialKind::ApiKey,
            caller.principal().id,
            TokenName::from_trusted("api-key".into()),
            String::new(),
            None,
        );
        let now = credential.created_at;
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
