//! Organizations: named groups of users, managed by administrators.

use crate::audit::AuditEntry;
use crate::authn::Caller;
use crate::ids::{OrganizationId, UserId};
use crate::model::{PrincipalKind, Timestamp};
use crate::names::{FieldError, UserName, parse_display_name};
use crate::paging::{Page, PageQuery, Total};
use crate::policy;
use crate::store::{Organization, organization_cursor_after};

use super::{Context, ServiceError, ServiceResult, taken};

#[derive(Clone)]
pub struct OrganizationService {
    ctx: Context,
}

/// An organisation's name: 1-100 characters, trimmed, nothing invisible
/// ([`parse_display_name`]); also the rule for the names `organization_mapping` creates.
pub fn parse_name(raw: &str) -> Result<String, FieldError> {
    let name = parse_display_name("name", raw, 100)?;
    if name.is_empty() {
        return Err(FieldError::new("name", "must not be empty"));
    }
    Ok(name)
}

impl OrganizationService {
    pub fn new(ctx: Context) -> OrganizationService {
        OrganizationService { ctx }
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn create(&self, caller: &Caller, name: String) -> ServiceResult<Organization> {
        policy::require_admin(caller)?;
        let org = Organization {
            id: OrganizationId::new(),
            name,
            created_at: self.ctx.clock.now(),
            members: Vec::new(),
        };
        let audit = audit(caller, &org, org.created_at, "organization.created");
        self.ctx
            .store
            .insert_organization(&org, &audit)
            .await
            .map_err(taken(|| {
                format!("an organization named {:?} already exists", org.name)
            }))?;
        Ok(org)
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn list(&self, caller: &Caller) -> ServiceResult<Vec<Organization>> {
        policy::require_admin(caller)?;
        Ok(self.ctx.store.organizations().await?)
    }

    /// One organization by id, read alone. SysAdmin only.
    pub async fn get(&self, caller: &Caller, id: OrganizationId) -> ServiceResult<Organization> {
        policy::require_admin(caller)?;
        self.organization(id).await
    }

    /// A page of organizations by name. SysAdmin only.
    pub async fn page(
        &self,
        caller: &Caller,
        query: PageQuery,
    ) -> ServiceResult<Page<Organization>> {
        policy::require_admin(caller)?;
        let limit = query.limit;
        let found = self.ctx.store.organization_page(&query).await?;
        Ok(Page::of(found, limit, organization_cursor_after))
    }

    /// How many organizations there are (capped). SysAdmin only.
    pub async fn count(&self, caller: &Caller) -> ServiceResult<Total> {
        policy::require_admin(caller)?;
        Ok(self.ctx.store.count_organizations().await?)
    }

    async fn organization(&self, id: OrganizationId) -> ServiceResult<Organization> {
        self.ctx
            .store
            .organization(id)
            .await?
            .ok_or(ServiceError::NotFound("organization"))
    }

    /// Adds a user (not a service account) by name; returns the organization and the user id.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn add_member(
        &self,
        caller: &Caller,
        id: OrganizationId,
        user_name: &UserName,
    ) -> ServiceResult<(Organization, UserId)> {
        policy::require_admin(caller)?;
        let org = self.organization(id).await?;
        let user = self
            .ctx
            .store
            .principal_by_name(user_name)
            .await?
            .filter(|u| u.kind == PrincipalKind::User)
            .ok_or(ServiceError::NotFound("user"))?;
        let audit = audit(
            caller,
            &org,
            self.ctx.clock.now(),
            "organization.member-added",
        )
        .with_detail("member", user.user_name.as_str());
        if !self.ctx.store.add_member(id, user.id, &audit).await? {
            // Say whose membership it is: one a provider's group mapping made follows the
            // person's groups at each sign-in, and the add did not make it the administrator's.
            let whose = match self.ctx.store.membership_provider(id, user.id).await? {
                Some(provider) => format!(
                    " through the group mapping of the identity provider {provider} (it follows \
                     the user's groups there at each sign-in; to make it an administrator's, \
                     remove it and add it again)"
                ),
                None => String::new(),
            };
            return Err(ServiceError::Conflict(format!(
                "{} is already a member of {}{whose}",
                user.user_name, org.name
            )));
        }
        self.ctx.forget_principal(user.id).await;
        Ok((self.organization(id).await?, user.id))
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id, user = %user))]
    pub async fn remove_member(
        &self,
        caller: &Caller,
        id: OrganizationId,
        user: UserId,
    ) -> ServiceResult<Organization> {
        policy::require_admin(caller)?;
        let org = self.organization(id).await?;
        let audit = audit(
            caller,
            &org,
            self.ctx.clock.now(),
            "organization.member-removed",
        )
        .with_detail("memberId", user.to_string());
        if !self.ctx.store.remove_member(id, user, &audit).await? {
            return Err(ServiceError::NotFound("member"));
        }
        self.ctx.forget_principal(user).await;
        self.organization(id).await
    }
}

/// The audit entry of `action` by `caller` on the organization `org`, at `at`.
fn audit(caller: &Caller, org: &Organization, at: Timestamp, action: &str) -> AuditEntry {
    AuditEntry {
        target_id: Some(org.id.to_string()),
        target_name: Some(org.name.clone()),
        ..AuditEntry::new(&caller.audit_actor(), at, action, "organization")
    }
}
