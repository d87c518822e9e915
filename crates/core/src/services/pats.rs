//! Personal access tokens: a user's own, and every user's for administrators.

use crate::audit::AuditEntry;
use crate::authn::Caller;
use crate::ids::CredentialId;
use crate::model::{Credential, CredentialKind, User};
use crate::names::{FieldError, TokenName, UserName, parse_text};
use crate::paging::{Cursor, Page, Total};
use crate::policy;
use crate::secret::Secret;
use crate::store::{CredentialFilter, OwnedCredential};

use super::{Context, ServiceError, ServiceResult, taken};

pub const DAY: i64 = 86_400;

/// Bounds of `expiresIn` (SPEC section 2) and the choices offered to clients.
#[derive(Clone, Copy, Debug)]
pub struct ExpirationPolicy {
    pub max_secs: i64,
    pub default_secs: i64,
}

impl Default for ExpirationPolicy {
    fn default() -> Self {
        ExpirationPolicy {
            max_secs: 365 * DAY,
            default_secs: 30 * DAY,
        }
    }
}

impl ExpirationPolicy {
    pub fn options(&self) -> Vec<i64> {
        [7, 30, 60, 90, 180, 365]
            .into_iter()
            .map(|d| d * DAY)
            .filter(|s| *s <= self.max_secs)
            .collect()
    }

    /// `expiresIn` as given, or the default; out of bounds is a 400 naming the bounds.
    pub fn lifetime(&self, field: &'static str, requested: Option<i64>) -> Result<i64, FieldError> {
        let secs = requested.unwrap_or(self.default_secs);
        if (1..=self.max_secs).contains(&secs) {
            Ok(secs)
        } else {
            Err(FieldError::new(
                field,
                format!(
                    "must be a whole number of seconds from 1 to {}",
                    self.max_secs
                ),
            ))
        }
    }
}

/// What a client asks for when creating a PAT, already parsed.
pub struct NewPat {
    pub name: TokenName,
    pub description: String,
    pub expires_in: Option<i64>,
}

impl NewPat {
    pub fn parse(
        name: &str,
        description: Option<&str>,
        expires_in: Option<i64>,
    ) -> Result<NewPat, FieldError> {
        Ok(NewPat {
            name: TokenName::parse("name", name)?,
            description: parse_text("description", description.unwrap_or(""), 1024)?,
            expires_in,
        })
    }
}

#[derive(Clone)]
pub struct PatService {
    ctx: Context,
    policy: ExpirationPolicy,
}

impl PatService {
    pub fn new(ctx: Context, policy: ExpirationPolicy) -> PatService {
        PatService { ctx, policy }
    }

    pub fn policy(&self) -> ExpirationPolicy {
        self.policy
    }

    pub fn now(&self) -> crate::model::Timestamp {
        self.ctx.clock.now()
    }

    fn new_credential(
        &self,
        owner: &User,
        request: &NewPat,
        lifetime: i64,
    ) -> (Credential, Secret) {
        self.ctx.new_credential(
            CredentialKind::Pat,
            owner.id,
            request.name.clone(),
            request.description.clone(),
            Some(lifetime),
        )
    }

    async fn insert(
        &self,
        owner: &User,
        request: &NewPat,
        actor: &crate::audit::AuditActor,
    ) -> ServiceResult<(Credential, Secret)> {
        let lifetime = self.policy.lifetime("expiresIn", request.expires_in)?;
        let (credential, secret) = self.new_credential(owner, request, lifetime);
        let audit = AuditEntry::about_credential(
            actor,
            credential.created_at,
            "pat.created",
            &credential,
            owner.user_name.as_str(),
        )
        .with_detail("expiresAt", credential.expires_at.map(|t| t.to_rfc3339()));
        self.ctx
            .store
            .insert_credential(&credential, &audit)
            .await
            .map_err(taken(|| {
                format!(
                    "a token named {:?} already exists; token names are unique per user until deleted",
                    request.name.as_str()
                )
            }))?;
        Ok((credential, secret))
    }

    /// Creates a PAT for the caller; the secret is returned this once.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn create(
        &self,
        caller: &Caller,
        request: NewPat,
    ) -> ServiceResult<(Credential, Secret)> {
        policy::require_person(caller)?;
        self.insert(caller.principal(), &request, &caller.audit_actor())
            .await
    }

    /// Creates a PAT for a named user on an operator's behalf (`tessera admin token create`).
    #[tracing::instrument(skip_all)]
    pub async fn create_for_operator(
        &self,
        user_name: &UserName,
        request: NewPat,
    ) -> ServiceResult<(Credential, Secret)> {
        let owner = self
            .ctx
            .store
            .principal_by_name(user_name)
            .await?
            .filter(|u| u.kind == crate::model::PrincipalKind::User)
            .ok_or(ServiceError::NotFound("user"))?;
        if !owner.is_active() {
            return Err(ServiceError::Conflict(format!(
                "user {user_name} is deactivated"
            )));
        }
        self.insert(&owner, &request, &crate::audit::AuditActor::command_line())
            .await
    }

    fn own(caller: &Caller, ids: Option<Vec<CredentialId>>) -> CredentialFilter {
        CredentialFilter {
            kind: Some(CredentialKind::Pat),
            principal_id: Some(caller.principal().id),
            ids,
            ..CredentialFilter::default()
        }
    }

    /// A page of the caller's own PATs, newest first (the order of
    /// [`CredentialFilter::order`] without a status), from `after` or skipping `offset`; an
    /// index range of `(principal_id, kind, created_at, id)` on both backends.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn own_page(
        &self,
        caller: &Caller,
        after: Option<Cursor>,
        offset: u32,
        limit: u32,
    ) -> ServiceResult<Page<Credential>> {
        let filter = CredentialFilter {
            after,
            offset,
            limit,
            ..Self::own(caller, None)
        };
        let now = self.ctx.clock.now();
        let found = self.ctx.store.list_credentials(&filter, now).await?;
        let items = found.into_iter().map(|o| o.credential).collect();
        Ok(Page::of(items, limit, |last| filter.cursor_after(last)))
    }

    /// How many PATs the caller has (capped, see [`crate::paging::COUNT_CAP`]).
    pub async fn own_count(&self, caller: &Caller) -> ServiceResult<Total> {
        let now = self.ctx.clock.now();
        Ok(self
            .ctx
            .store
            .count_credentials(&Self::own(caller, None), now)
            .await?)
    }

    async fn own_one(&self, caller: &Caller, id: CredentialId) -> ServiceResult<Credential> {
        let now = self.ctx.clock.now();
        self.ctx
            .store
            .list_credentials(&Self::own(caller, Some(vec![id])), now)
            .await?
            .into_iter()
            .next()
            .map(|o| o.credential)
            .ok_or(ServiceError::NotFound("token"))
    }

    /// Revokes one of the caller's PATs; revoking a revoked token is a no-op that succeeds.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn revoke_own(&self, caller: &Caller, id: CredentialId) -> ServiceResult<Credential> {
        self.own_one(caller, id).await?;
        self.revoke(
            &Self::own(caller, Some(vec![id])),
            caller,
            "revoked-by-owner",
        )
        .await?;
        self.own_one(caller, id).await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn delete_own(&self, caller: &Caller, id: CredentialId) -> ServiceResult<()> {
        let deleted = self
            .delete(&Self::own(caller, Some(vec![id])), caller)
            .await?;
        if deleted.is_empty() {
            return Err(ServiceError::NotFound("token"));
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn revoke_all_own(&self, caller: &Caller) -> ServiceResult<Vec<Credential>> {
        self.revoke(&Self::own(caller, None), caller, "revoked-by-owner")
            .await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn delete_all_own(&self, caller: &Caller) -> ServiceResult<Vec<Credential>> {
        self.delete(&Self::own(caller, None), caller).await
    }

    /// A new secret with the same name, description and lifetime; the old one is revoked in the
    /// same transaction. Only a live token can be rotated.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn rotate_own(
        &self,
        caller: &Caller,
        id: CredentialId,
    ) -> ServiceResult<(Credential, Secret)> {
        let old = self.own_one(caller, id).await?;
        let now = self.ctx.clock.now();
        if !old.is_valid(now) {
            return Err(ServiceError::Conflict(format!(
                "token {:?} is {}; only an active token can be rotated",
                old.name.as_str(),
                old.status(now).as_str()
            )));
        }
        let lifetime = old.lifetime_secs.unwrap_or(self.policy.default_secs);
        let request = NewPat {
            name: old.name.clone(),
            description: old.description.clone(),
            expires_in: Some(lifetime),
        };
        let (credential, secret) = self.new_credential(caller.principal(), &request, lifetime);
        let rotated = self
            .ctx
            .store
            .rotate_credential(old.id, &credential, now, &caller.audit_actor())
            .await?
            .ok_or_else(|| ServiceError::Conflict("token was revoked meanwhile".into()))?;
        self.ctx.forget(std::slice::from_ref(&rotated)).await;
        Ok((credential, secret))
    }

    async fn revoke(
        &self,
        filter: &CredentialFilter,
        caller: &Caller,
        reason: &str,
    ) -> ServiceResult<Vec<Credential>> {
        let now = self.ctx.clock.now();
        let revoked = self
            .ctx
            .store
            .revoke_credentials(filter, now, reason, &caller.audit_actor())
            .await?;
        self.ctx.forget(&revoked).await;
        Ok(revoked)
    }

    async fn delete(
        &self,
        filter: &CredentialFilter,
        caller: &Caller,
    ) -> ServiceResult<Vec<Credential>> {
        let now = self.ctx.clock.now();
        let deleted = self
            .ctx
            .store
            .delete_credentials(filter, now, &caller.audit_actor())
            .await?;
        self.ctx.forget(&deleted).await;
        Ok(deleted)
    }

    /// Every user's PATs, for administrators; never the secret (it is not stored).
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn admin_list(
        &self,
        caller: &Caller,
        mut filter: CredentialFilter,
    ) -> ServiceResult<Vec<OwnedCredential>> {
        policy::require_admin(caller)?;
        filter.kind = Some(CredentialKind::Pat);
        let now = self.ctx.clock.now();
        Ok(self.ctx.store.list_credentials(&filter, now).await?)
    }

    /// A page of PATs across users, in [`CredentialFilter::order`], with the next cursor.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn admin_page(
        &self,
        caller: &Caller,
        filter: CredentialFilter,
    ) -> ServiceResult<Page<OwnedCredential>> {
        let limit = filter.limit;
        let order = CredentialFilter {
            status: filter.status,
            ..CredentialFilter::default()
        };
        let found = self.admin_list(caller, filter).await?;
        Ok(Page::of(found, limit, |last| {
            order.cursor_after(&last.credential)
        }))
    }

    /// How many PATs across users match `filter` (capped, see [`crate::paging::COUNT_CAP`]).
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn admin_count(
        &self,
        caller: &Caller,
        mut filter: CredentialFilter,
    ) -> ServiceResult<Total> {
        policy::require_admin(caller)?;
        filter.kind = Some(CredentialKind::Pat);
        let now = self.ctx.clock.now();
        Ok(self.ctx.store.count_credentials(&filter, now).await?)
    }

    /// Revokes the PATs matching `filter` across users. An empty filter is refused rather than
    /// revoking every token of the deployment by accident.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn admin_revoke(
        &self,
        caller: &Caller,
        filter: CredentialFilter,
    ) -> ServiceResult<Vec<Credential>> {
        policy::require_admin(caller)?;
        let filter = Self::admin_bulk_filter(filter)?;
        self.revoke(&filter, caller, "revoked-by-admin").await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn admin_delete(
        &self,
        caller: &Caller,
        filter: CredentialFilter,
    ) -> ServiceResult<Vec<Credential>> {
        policy::require_admin(caller)?;
        let filter = Self::admin_bulk_filter(filter)?;
        self.delete(&filter, caller).await
    }

    fn admin_bulk_filter(mut filter: CredentialFilter) -> ServiceResult<CredentialFilter> {
        let blank_search = filter.search.as_deref().is_none_or(|s| s.trim().is_empty());
        if filter.ids.is_none()
            && filter.user_name.is_none()
            && filter.status.is_none()
            && blank_search
        {
            return Err(FieldError::new(
                "patIds",
                "give patIds, userName, status or search to choose which tokens",
            )
            .into());
        }
        filter.kind = Some(CredentialKind::Pat);
        filter.after = None;
        filter.offset = 0;
        filter.limit = 0;
        Ok(filter)
    }
}
