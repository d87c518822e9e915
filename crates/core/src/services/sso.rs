//! Sign-in through an identity provider (SPEC section 10), once the protocol layer has verified
//! the provider's assertion: the just-in-time user, its attributes, roles and organisation
//! memberships refreshed from the provider's groups, and the audit of it all with the provider
//! as actor. It never links an assertion to an existing local account by e-mail.

use crate::audit::{AuditActor, AuditEntry};
use crate::ids::UserId;
use crate::model::{PrincipalKind, User, UserStatus};
use crate::names::{Email, parse_text};
use crate::sso::{Assertion, ProviderRules, numbered, user_name_from_claim};
use crate::store::{MembershipChanges, ProfilePatch, StoreError};

use super::{Context, ServiceError, ServiceResult};

/// How many numbered variants of a taken user name are tried before giving up.
const NAME_ATTEMPTS: u32 = 50;

/// Why a verified assertion does not sign anyone in; each has a message a person understands.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "The e-mail address {0} already belongs to a Tessera account that does not sign in with this provider. Ask an administrator to link or rename that account."
    )]
    EmailTaken(String),
    #[error("Your Tessera account is deactivated. Ask an administrator to activate it.")]
    Deactivated,
    #[error("The identity provider did not give a user name Tessera can use ({0:?}).")]
    NoUserName(String),
}

impl Refusal {
    /// The stable reason recorded in the audit log (`sso.refused`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::EmailTaken(_) => "email-taken",
            Refusal::Deactivated => "deactivated",
            Refusal::NoUserName(_) => "no-user-name",
        }
    }
}

/// A successful sign-in: the user as it now is and what the sign-in changed.
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    pub created: bool,
    pub roles_changed: bool,
    pub pats_revoked: usize,
    pub memberships: MembershipChanges,
}

pub struct SsoService {
    ctx: Context,
}

/// The audit actor for changes a provider causes: `sso:<name>`, from the browser's address.
pub fn provider_actor(provider: &str, ip: Option<std::net::IpAddr>) -> AuditActor {
    AuditActor {
        user_name: Some(format!("sso:{provider}")),
        ip: ip.map(|ip| ip.to_string()),
        credential_name: Some(provider.to_string()),
        ..AuditActor::default()
    }
}

impl SsoService {
    pub fn new(ctx: Context) -> SsoService {
        SsoService { ctx }
    }

    /// Creates or refreshes the user `assertion` stands for. `Ok(Err(_))` is a refusal (audited
    /// here as `sso.refused`); `Err(_)` a failure of the store.
    pub async fn sign_in(
        &self,
        rules: &ProviderRules,
        assertion: &Assertion,
        ip: Option<std::net::IpAddr>,
    ) -> ServiceResult<Result<SignedIn, Refusal>> {
        let actor = provider_actor(&rules.name, ip);
        let outcome = match self
            .ctx
            .store
            .sso_user(&rules.name, &assertion.subject)
            .await?
        {
            Some(id) => self.refresh(rules, assertion, id, &actor).await?,
            None => self.create(rules, assertion, &actor).await?,
        };
        match &outcome {
            Ok(signed_in) => {
                let entry = AuditEntry::about_user(
                    &actor,
                    self.ctx.clock.now(),
                    "sso.signin",
                    &signed_in.user,
                )
                .with_detail("provider", rules.name.as_str())
                .with_detail("created", signed_in.created)
                .with_detail("roles", signed_in.user.roles.to_storage());
                self.ctx.store.append_audit(&entry).await?;
            }
            Err(refusal) => {
                self.refused(&rules.name, refusal.code(), assertion, ip)
                    .await?
            }
        }
        Ok(outcome)
    }

    /// Records a refused sign-in (`sso.refused`): the provider, the reason and, when known, the
    /// subject it concerned.
    pub async fn refused(
        &self,
        provider: &str,
        reason: &str,
        assertion: &Assertion,
        ip: Option<std::net::IpAddr>,
    ) -> ServiceResult<()> {
        let mut entry = AuditEntry::new(
            &provider_actor(provider, ip),
            self.ctx.clock.now(),
            "sso.refused",
            "user",
        )
        .with_detail("provider", provider)
        .with_detail("reason", reason);
        if !assertion.subject.is_empty() {
            entry = entry.with_detail("subject", assertion.subject.as_str());
            entry.target_name = Some(assertion.user_name.clone());
        }
        self.ctx.store.append_audit(&entry).await?;
        Ok(())
    }

    async fn create(
        &self,
        rules: &ProviderRules,
        assertion: &Assertion,
        actor: &AuditActor,
    ) -> ServiceResult<Result<SignedIn, Refusal>> {
        let email = assertion
            .email
            .as_deref()
            .and_then(|e| Email::parse("email", e).ok());
        if let Some(email) = &email
            && self.ctx.store.principal_by_email(email).await?.is_some()
        {
            return Ok(Err(Refusal::EmailTaken(email.as_str().to_string())));
        }
        let Some(base) = user_name_from_claim(&assertion.user_name)
            .or_else(|| user_name_from_claim(&assertion.subject))
        else {
            return Ok(Err(Refusal::NoUserName(assertion.user_name.clone())));
        };
        let now = self.ctx.clock.now();
        for n in 1..=NAME_ATTEMPTS {
            let user = User {
                id: UserId::new(),
                kind: PrincipalKind::User,
                user_name: numbered(&base, n),
                email: email.clone(),
                first_name: text(&assertion.first_name),
                last_name: text(&assertion.last_name),
                description: String::new(),
                roles: rules.roles_for(&assertion.groups),
                status: UserStatus::Active,
                created_at: now,
                created_by: None,
                tokens_not_before: None,
            };
            let audit = AuditEntry::about_user(actor, now, "user.created", &user)
                .with_detail("roles", user.roles.to_storage())
                .with_detail("provider", rules.name.as_str());
            match self
                .ctx
                .store
                .insert_sso_user(
                    &user,
                    &rules.name,
                    &assertion.subject,
                    &assertion.attributes,
                    &audit,
                )
                .await
            {
                Ok(()) => {
                    let memberships = self
                        .ctx
                        .store
                        .sync_sso_memberships(
                            &user,
                            &rules.name,
                            &rules.organizations_for(&assertion.groups),
                            now,
                            actor,
                        )
                        .await?;
                    return Ok(Ok(SignedIn {
                        user,
                        created: true,
                        roles_changed: false,
                        pats_revoked: 0,
                        memberships,
                    }));
                }
                Err(StoreError::Conflict { field: "userName" }) => continue,
                Err(StoreError::Conflict { field: "email" }) => {
                    let shown = email
                        .as_ref()
                        .map(|e| e.as_str().to_string())
                        .unwrap_or_default();
                    return Ok(Err(Refusal::EmailTaken(shown)));
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(ServiceError::Conflict(format!(
            "no free user name left for {base}"
        )))
    }

    async fn refresh(
        &self,
        rules: &ProviderRules,
        assertion: &Assertion,
        id: UserId,
        actor: &AuditActor,
    ) -> ServiceResult<Result<SignedIn, Refusal>> {
        let user = self
            .ctx
            .store
            .principal(id)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        if user.status != UserStatus::Active {
            return Ok(Err(Refusal::Deactivated));
        }
        let now = self.ctx.clock.now();
        // Names follow the provider; the e-mail too unless another account holds it (kept then,
        // never taken from that account).
        let mut patch = ProfilePatch {
            first_name: Some(text(&assertion.first_name)).filter(|n| *n != user.first_name),
            last_name: Some(text(&assertion.last_name)).filter(|n| *n != user.last_name),
            ..ProfilePatch::default()
        };
        if let Some(email) = assertion
            .email
            .as_deref()
            .and_then(|e| Email::parse("email", e).ok())
            .filter(|e| Some(e) != user.email.as_ref())
            && self.ctx.store.principal_by_email(&email).await?.is_none()
        {
            patch.email = Some(email);
        }
        if patch.email.is_some() || patch.first_name.is_some() || patch.last_name.is_some() {
            let audit = AuditEntry::about_user(actor, now, "user.updated", &user)
                .with_detail("provider", rules.name.as_str());
            self.ctx.store.update_profile(id, &patch, &audit).await?;
        }
        let audit = AuditEntry::about_user(actor, now, "user.attributes-changed", &user)
            .with_detail("provider", rules.name.as_str());
        let attributes_changed = self
            .ctx
            .store
            .set_attributes(id, &assertion.attributes, &audit)
            .await?;
        let roles = rules.roles_for(&assertion.groups);
        let roles_changed = roles != user.roles;
        let mut pats_revoked = 0;
        if roles_changed {
            // The store revokes the user's PATs in the same transaction as the change.
            let (_, revoked) = self
                .ctx
                .store
                .set_roles(id, &roles, now, actor)
                .await?
                .ok_or(ServiceError::NotFound("user"))?;
            self.ctx.forget(&revoked).await;
            pats_revoked = revoked.len();
        }
        let memberships = self
            .ctx
            .store
            .sync_sso_memberships(
                &user,
                &rules.name,
                &rules.organizations_for(&assertion.groups),
                now,
                actor,
            )
            .await?;
        if roles_changed
            || attributes_changed
            || !memberships.added.is_empty()
            || !memberships.removed.is_empty()
        {
            self.ctx.forget_principal(id).await;
        }
        let user = self
            .ctx
            .store
            .principal(id)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        Ok(Ok(SignedIn {
            user,
            created: false,
            roles_changed,
            pats_revoked,
            memberships,
        }))
    }
}

/// A display name from the provider, cut to what profiles hold (128 characters).
fn text(raw: &str) -> String {
    let cut: String = raw.trim().chars().take(128).collect();
    parse_text("name", &cut, 128).unwrap_or_default()
}
