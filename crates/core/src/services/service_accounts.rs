//! Service accounts (admin-managed identities for pipelines) and their long-lived named tokens.

use crate::audit::AuditEntry;
use crate::authn::Caller;
use crate::ids::UserId;
use crate::model::{Credential, CredentialKind, PrincipalKind, User};
use crate::names::{Email, FieldError, TokenName, UserName, parse_text};
use crate::paging::{Page, Total};
use crate::policy;
use crate::secret::Secret;
use crate::store::{CredentialFilter, PrincipalQuery};

use super::pats::{DAY, ExpirationPolicy};
use super::{Context, ServiceError, ServiceResult, taken};

/// Default lifetime of a service-account token: four months.
pub const DEFAULT_TOKEN_SECS: i64 = 120 * DAY;

pub struct NewServiceAccount {
    pub user_name: UserName,
    pub email: Option<Email>,
    pub description: String,
}

impl NewServiceAccount {
    pub fn parse(
        user_name: &str,
        email: Option<&str>,
        description: Option<&str>,
    ) -> Result<NewServiceAccount, FieldError> {
        Ok(NewServiceAccount {
            user_name: UserName::parse("username", user_name)?,
            email: email.map(|e| Email::parse("email", e)).transpose()?,
            description: parse_text("description", description.unwrap_or(""), 1024)?,
        })
    }
}

#[derive(Clone)]
pub struct ServiceAccountService {
    ctx: Context,
    policy: ExpirationPolicy,
}

impl ServiceAccountService {
    pub fn new(ctx: Context, policy: ExpirationPolicy) -> ServiceAccountService {
        ServiceAccountService { ctx, policy }
    }

    /// Creates a service account whose roles are copied from the creating administrator.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn create(&self, caller: &Caller, request: NewServiceAccount) -> ServiceResult<User> {
        policy::require_admin(caller)?;
        let roles = caller.principal().roles.clone();
        let now = self.ctx.clock.now();
        let account = User {
            email: request.email,
            description: request.description,
            created_by: Some(caller.principal().id),
            ..User::new(PrincipalKind::ServiceAccount, request.user_name, roles, now)
        };
        let audit = AuditEntry::about_user(
            &caller.audit_actor(),
            account.created_at,
            "service-account.created",
            &account,
        )
        .with_detail("roles", account.roles.to_storage());
        self.ctx
            .store
            .insert_principal(&account, None, &audit)
            .await?;
        Ok(account)
    }

    /// A page of service accounts by name; `query.kind` is set here.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn list(&self, caller: &Caller, query: PrincipalQuery) -> ServiceResult<Page<User>> {
        policy::require_admin(caller)?;
        self.ctx
            .principals_page(PrincipalKind::ServiceAccount, query)
            .await
    }

    /// How many service accounts match `query` (capped, see [`crate::paging::COUNT_CAP`]).
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn count(&self, caller: &Caller, query: PrincipalQuery) -> ServiceResult<Total> {
        policy::require_admin(caller)?;
        self.ctx
            .principals_count(PrincipalKind::ServiceAccount, query)
            .await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn get(&self, caller: &Caller, id: UserId) -> ServiceResult<User> {
        policy::require_admin(caller)?;
        self.account(id).await
    }

    async fn account(&self, id: UserId) -> ServiceResult<User> {
        self.ctx
            .principal_of_kind(id, PrincipalKind::ServiceAccount, "service account")
            .await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn create_token(
        &self,
        caller: &Caller,
        id: UserId,
        name: TokenName,
        expires_in: Option<i64>,
    ) -> ServiceResult<(Credential, Secret)> {
        policy::require_admin(caller)?;
        let account = self.account(id).await?;
        if !account.is_active() {
            return Err(ServiceError::Conflict(format!(
                "service account {} is deactivated; activate it first",
                account.user_name
            )));
        }
        let lifetime = ExpirationPolicy {
            default_secs: DEFAULT_TOKEN_SECS.min(self.policy.max_secs),
            ..self.policy
        }
        .lifetime("expiresIn", expires_in)?;
        let (credential, secret) = self.ctx.new_credential(
            CredentialKind::ServiceAccountToken,
            account.id,
            name,
            String::new(),
            Some(lifetime),
        );
        let now = credential.created_at;
        let audit = AuditEntry::about_credential(
            &caller.audit_actor(),
            now,
            "sa-token.created",
            &credential,
            account.user_name.as_str(),
        );
        self.ctx
            .store
            .insert_credential(&credential, &audit)
            .await
            .map_err(taken(|| {
                format!(
                    "service account {} already has a token named {:?}",
                    account.user_name,
                    credential.name.as_str()
                )
            }))?;
        Ok((credential, secret))
    }

    fn tokens_of(id: UserId, name: Option<&TokenName>) -> CredentialFilter {
        CredentialFilter {
            kind: Some(CredentialKind::ServiceAccountToken),
            principal_id: Some(id),
            name: name.map(|n| n.as_str().to_string()),
            ..CredentialFilter::default()
        }
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn tokens(
        &self,
        caller: &Caller,
        id: UserId,
    ) -> ServiceResult<(User, Vec<Credential>)> {
        policy::require_admin(caller)?;
        let account = self.account(id).await?;
        let now = self.ctx.clock.now();
        let tokens = self
            .ctx
            .store
            .list_credentials(&Self::tokens_of(id, None), now)
            .await?;
        Ok((account, tokens.into_iter().map(|o| o.credential).collect()))
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn token(
        &self,
        caller: &Caller,
        id: UserId,
        name: &TokenName,
    ) -> ServiceResult<(User, Credential)> {
        policy::require_admin(caller)?;
        let account = self.account(id).await?;
        let now = self.ctx.clock.now();
        let token = self
            .ctx
            .store
            .list_credentials(&Self::tokens_of(id, Some(name)), now)
            .await?
            .into_iter()
            .next()
            .ok_or(ServiceError::NotFound("token"))?;
        Ok((account, token.credential))
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn invalidate_token(
        &self,
        caller: &Caller,
        id: UserId,
        name: &TokenName,
    ) -> ServiceResult<(User, Credential)> {
        self.token(caller, id, name).await?;
        let now = self.ctx.clock.now();
        let revoked = self
            .ctx
            .store
            .revoke_credentials(
                &Self::tokens_of(id, Some(name)),
                now,
                "revoked-by-admin",
                &caller.audit_actor(),
            )
            .await?;
        self.ctx.forget(&revoked).await;
        self.token(caller, id, name).await
    }

    /// Deactivation revokes every token of the account.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn set_active(
        &self,
        caller: &Caller,
        id: UserId,
        active: bool,
    ) -> ServiceResult<User> {
        policy::require_admin(caller)?;
        self.account(id).await?;
        self.ctx
            .set_active(id, active, &caller.audit_actor(), "service account")
            .await
    }
}
