//! Sign-in through an identity provider (SPEC section 10), once the protocol layer has verified
//! the provider's assertion: the just-in-time user, its attributes, roles and organisation
//! memberships refreshed from the provider's groups, and the audit of it all with the provider
//! as actor. It never links an assertion to an existing local account by e-mail.

use crate::audit::{AuditActor, AuditEntry};
use crate::ids::UserId;
use crate::model::{PrincipalKind, Timestamp, User, UserStatus};
use crate::names::{Email, UserName, parse_display_name};
use crate::roles::Role;
use crate::sso::{
    Assertion, FederatedIdentity, ProviderRules, numbered, quoted, user_name_from_claim,
};
use crate::store::{MembershipChanges, ProfilePatch, StoreError};

use super::{Context, ServiceError, ServiceResult};

/// How many numbered variants of a taken user name are tried before giving up.
const NAME_ATTEMPTS: u32 = 50;

/// Which account already holds the e-mail address a first sign-in asserts; the refusal's
/// message says it (found by the fourth review of #17: a clash with another user of the same
/// provider was called an account "that does not sign in with this provider").
#[derive(Clone, Debug, PartialEq)]
pub enum EmailHolder {
    /// An account no provider signs in: made by an administrator, or a service account.
    Local,
    /// A user who signs in with another provider, by its configured name.
    OtherProvider(String),
    /// Another user of the same provider (another subject).
    SameProvider,
}

/// An e-mail address a first sign-in asserts, held by another account.
#[derive(Clone, Debug, PartialEq)]
pub struct EmailClash {
    /// The address, as quoted on the page ([`quoted`]).
    pub email: String,
    pub holder: EmailHolder,
}

impl std::fmt::Display for EmailClash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let email = &self.email;
        match &self.holder {
            EmailHolder::Local => write!(
                f,
                "The e-mail address {email} already belongs to a local Tessera account (one that does not sign in through an identity provider). Tessera never links accounts by e-mail: an administrator can change that account's e-mail address, after which you can sign in."
            ),
            EmailHolder::OtherProvider(provider) => write!(
                f,
                "The e-mail address {email} already belongs to a Tessera account that signs in with the identity provider {provider}. Tessera never links accounts by e-mail: sign in with {provider} if that account is yours; otherwise an administrator can change that account's e-mail address, after which you can sign in."
            ),
            EmailHolder::SameProvider => write!(
                f,
                "The e-mail address {email} already belongs to another Tessera account that signs in with this identity provider, as another of its users. Tessera never links accounts by e-mail: ask an administrator to correct the address at the identity provider, or to change that account's e-mail address."
            ),
        }
    }
}

/// Why a verified assertion does not sign anyone in; each has a message a person understands.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The address belongs to another account, which is never linked silently; the message
    /// says whose ([`EmailHolder`]).
    #[error("{0}")]
    EmailTaken(EmailClash),
    #[error("Your Tessera account is deactivated. Ask an administrator to activate it.")]
    Deactivated,
    #[error("The identity provider did not give a user name Tessera can use ({0:?}).")]
    NoUserName(String),
    /// A claim longer than Tessera keeps (see `crate::sso::MAX_CLAIM_CHARS` and its
    /// neighbours); `limit` says the bound in words.
    #[error(
        "The identity provider's claim {claim:?} is longer than Tessera accepts ({limit}). Ask an administrator to shorten it at the identity provider."
    )]
    ClaimTooLong { claim: String, limit: String },
    /// A claim holding a control character (NUL, a line break, DEL...) or an invisible format
    /// character (a bidirectional override, a zero-width space, U+2028; see
    /// `crate::names::first_invisible`): refused rather than stored, cut or stripped, so
    /// that what Tessera keeps and puts into JWTs is what the provider said, nothing reads
    /// otherwise than it shows, and PostgreSQL (which cannot hold NUL in text) and SQLite agree.
    #[error(
        "The identity provider's claim {claim:?} holds U+{code:04X}, a control character or an invisible formatting character (such as a line break or a right-to-left override), which Tessera does not accept. Ask an administrator to correct it at the identity provider.",
        code = u32::from(*code_point)
    )]
    ClaimControlCharacter { claim: String, code_point: char },
    /// A claim Tessera reads whose JSON type is not the one it must have (`expected`, in
    /// words): refused rather than read as absent, since an absent groups claim would take the
    /// person's mapped roles and organisations away (found by the fifth review of #17).
    #[error(
        "The identity provider's claim {claim:?} is not {expected}. Ask an administrator to correct what the identity provider sends in it."
    )]
    ClaimWrongType {
        claim: String,
        expected: &'static str,
    },
}

impl Refusal {
    /// The stable reason recorded in the audit log (`sso.refused`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::EmailTaken(_) => "email-taken",
            Refusal::Deactivated => "deactivated",
            Refusal::NoUserName(_) => "no-user-name",
            Refusal::ClaimTooLong { .. } => "claim-too-long",
            Refusal::ClaimControlCharacter { .. } => "claim-control-character",
            Refusal::ClaimWrongType { .. } => "claim-wrong-type",
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

/// What creating or refreshing the user changed, before memberships are synchronised.
struct Changed {
    user: User,
    created: bool,
    roles_changed: bool,
    attributes_changed: bool,
    pats_revoked: usize,
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

    /// Marks the flow with this `state` as finished, for every node: `true` the first time,
    /// `false` when its callback was already accepted once (a replay, to refuse whatever the
    /// provider would say). The record lives until `flow_expires_at`, when the flow's cookie
    /// is stale anyway; only a hash of `state` is stored.
    pub async fn finish_flow(
        &self,
        state: &str,
        flow_expires_at: Timestamp,
    ) -> ServiceResult<bool> {
        use sha2::{Digest, Sha256};
        let hash = hex::encode(Sha256::digest(state.as_bytes()));
        Ok(self
            .ctx
            .store
            .consume_sso_state(&hash, flow_expires_at, self.ctx.clock.now())
            .await?)
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
        let changed = match outcome {
            Ok(changed) => changed,
            Err(refusal) => {
                self.refused(&rules.name, &refusal, assertion, ip).await?;
                return Ok(Err(refusal));
            }
        };
        // Memberships follow the provider's groups, for a new user as for a known one.
        let memberships = self
            .ctx
            .store
            .sync_sso_memberships(
                &changed.user,
                &rules.name,
                &rules.organizations_for(&assertion.groups),
                self.ctx.clock.now(),
                &actor,
            )
            .await?;
        let membership_changed = !memberships.added.is_empty() || !memberships.removed.is_empty();
        if !changed.created
            && (changed.roles_changed || changed.attributes_changed || membership_changed)
        {
            self.ctx.forget_principal(changed.user.id).await;
        }
        let entry =
            AuditEntry::about_user(&actor, self.ctx.clock.now(), "sso.signin", &changed.user)
                .with_detail("provider", rules.name.as_str())
                .with_detail("created", changed.created)
                .with_detail("roles", changed.user.roles.to_storage());
        self.ctx.store.append_audit(&entry).await?;
        Ok(Ok(SignedIn {
            user: changed.user,
            created: changed.created,
            roles_changed: changed.roles_changed,
            pats_revoked: changed.pats_revoked,
            memberships,
        }))
    }

    /// Records a refused sign-in (`sso.refused`) for one of the service's own refusals.
    pub async fn refused(
        &self,
        provider: &str,
        refusal: &Refusal,
        assertion: &Assertion,
        ip: Option<std::net::IpAddr>,
    ) -> ServiceResult<()> {
        self.refused_because(
            provider,
            refusal.code(),
            &refusal.to_string(),
            assertion,
            ip,
        )
        .await
    }

    /// Records a refused sign-in (`sso.refused`): the provider, the stable `reason`, the
    /// `detail` a person reads (never a token) and, when known, the subject it concerned.
    pub async fn refused_because(
        &self,
        provider: &str,
        reason: &str,
        detail: &str,
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
        .with_detail("reason", reason)
        .with_detail("detail", detail);
        if !assertion.subject.is_empty() {
            entry = entry.with_detail("subject", assertion.subject.as_str());
            entry.target_name = Some(assertion.user_name.clone()).filter(|name| !name.is_empty());
        }
        self.ctx.store.append_audit(&entry).await?;
        Ok(())
    }

    /// Why `break_glass_admin` would not let anyone in when passwords are switched off: the
    /// account is missing, not a user, deactivated, not a SysAdmin or without a password.
    /// `None` when it is fine.
    /// Checked at start-up (a warning), since the account may be created later.
    pub async fn break_glass_problem(&self, name: &UserName) -> ServiceResult<Option<String>> {
        let Some(user) = self.ctx.store.principal_by_name(name).await? else {
            return Ok(Some(format!("no account is named '{name}'")));
        };
        let problem = if user.kind != PrincipalKind::User {
            Some(format!(
                "'{name}' is a service account, which cannot sign in to the web UI"
            ))
        } else if user.status != UserStatus::Active {
            Some(format!("the account '{name}' is deactivated"))
        } else if !user.roles.contains(Role::SysAdmin) {
            Some(format!(
                "the account '{name}' does not have the SysAdmin role"
            ))
        } else if self
            .ctx
            .store
            .password_hash(name)
            .await?
            .is_none_or(|(_, hash)| hash.is_none())
        {
            Some(format!(
                "the account '{name}' has no password (it signs in only through a provider)"
            ))
        } else {
            None
        };
        Ok(problem)
    }

    async fn create(
        &self,
        rules: &ProviderRules,
        assertion: &Assertion,
        actor: &AuditActor,
    ) -> ServiceResult<Result<Changed, Refusal>> {
        let email = assertion
            .email
            .as_deref()
            .and_then(|e| Email::parse("email", e).ok());
        if let Some(email) = &email
            && let Some(holder) = self.ctx.store.principal_by_email(email).await?
        {
            let clash = self.email_clash(rules, email, Some(holder.id)).await?;
            return self
                .raced_or(rules, assertion, actor, Refusal::EmailTaken(clash))
                .await;
        }
        let Some(base) = user_name_from_claim(&assertion.user_name)
            .or_else(|| user_name_from_claim(&assertion.subject))
        else {
            return Ok(Err(Refusal::NoUserName(quoted(&assertion.user_name))));
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
                    &identity(rules, assertion),
                    &assertion.attributes,
                    &audit,
                )
                .await
            {
                Ok(()) => {
                    return Ok(Ok(Changed {
                        user,
                        created: true,
                        roles_changed: false,
                        attributes_changed: false,
                        pats_revoked: 0,
                    }));
                }
                Err(StoreError::Conflict { field: "userName" }) => continue,
                Err(StoreError::Conflict { field: "email" }) => {
                    let Some(email) = &email else {
                        return Err(StoreError::Conflict { field: "email" }.into());
                    };
                    let holder = self.ctx.store.principal_by_email(email).await?;
                    let clash = self.email_clash(rules, email, holder.map(|h| h.id)).await?;
                    return self
                        .raced_or(rules, assertion, actor, Refusal::EmailTaken(clash))
                        .await;
                }
                Err(StoreError::Conflict { field: "subject" }) => {
                    // The link exists, so a concurrent sign-in of this person committed it.
                    return match self
                        .ctx
                        .store
                        .sso_user(&rules.name, &assertion.subject)
                        .await?
                    {
                        Some(id) => self.refresh(rules, assertion, id, actor).await,
                        None => Err(ServiceError::Conflict(
                            "a concurrent sign-in of this person is not finished; try again".into(),
                        )),
                    };
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(ServiceError::Conflict(format!(
            "no free user name left for {base}"
        )))
    }

    /// Whose account `email` is: a local one, one of another provider, or another user of this
    /// provider (`holder`, the account holding it; `None`, gone meanwhile, reads as local).
    async fn email_clash(
        &self,
        rules: &ProviderRules,
        email: &Email,
        holder: Option<UserId>,
    ) -> ServiceResult<EmailClash> {
        let links = match holder {
            Some(id) => self.ctx.store.federated_identities(&[id]).await?,
            None => Vec::new(),
        };
        let holder = match links.iter().map(|(_, link)| link).next() {
            None => EmailHolder::Local,
            Some(link) if link.provider == rules.name => EmailHolder::SameProvider,
            Some(link) => EmailHolder::OtherProvider(link.provider.clone()),
        };
        Ok(EmailClash {
            email: quoted(email.as_str()),
            holder,
        })
    }

    /// A creation that met an existing account: when a concurrent sign-in of the same person
    /// (same provider and subject) created it meanwhile, this sign-in refreshes that user
    /// (found by the second review of #17: concurrent first sign-ins answered a false "e-mail
    /// taken" or a 503); otherwise the account is someone else's and `refusal` stands.
    async fn raced_or(
        &self,
        rules: &ProviderRules,
        assertion: &Assertion,
        actor: &AuditActor,
        refusal: Refusal,
    ) -> ServiceResult<Result<Changed, Refusal>> {
        match self
            .ctx
            .store
            .sso_user(&rules.name, &assertion.subject)
            .await?
        {
            Some(id) => self.refresh(rules, assertion, id, actor).await,
            None => Ok(Err(refusal)),
        }
    }

    async fn refresh(
        &self,
        rules: &ProviderRules,
        assertion: &Assertion,
        id: UserId,
        actor: &AuditActor,
    ) -> ServiceResult<Result<Changed, Refusal>> {
        let user = self
            .ctx
            .store
            .principal(id)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        if user.status != UserStatus::Active {
            return Ok(Err(Refusal::Deactivated));
        }
        // What the administrator's view shows as the person's user name at the provider.
        self.ctx
            .store
            .set_federated_user_name(&identity(rules, assertion))
            .await?;
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
        {
            match self.ctx.store.principal_by_email(&email).await? {
                None => patch.email = Some(email),
                Some(holder) => {
                    self.email_kept(rules, &user, &email, &holder, actor)
                        .await?
                }
            }
        }
        if patch.email.is_some() || patch.first_name.is_some() || patch.last_name.is_some() {
            // Which fields changed (their names; the values are in the user's profile).
            let fields: Vec<&str> = [
                ("email", patch.email.is_some()),
                ("firstName", patch.first_name.is_some()),
                ("lastName", patch.last_name.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, changed)| changed.then_some(name))
            .collect();
            let audit = AuditEntry::about_user(actor, now, "user.updated", &user)
                .with_detail("provider", rules.name.as_str())
                .with_detail("fields", fields);
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
        let user = self
            .ctx
            .store
            .principal(id)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        Ok(Ok(Changed {
            user,
            created: false,
            roles_changed,
            attributes_changed,
            pats_revoked,
        }))
    }

    /// The provider now gives `user` an address another account holds: the user keeps the old
    /// one (never taken from that account), and an administrator learns of it from the audit
    /// log (`sso.email-kept`) and the log.
    async fn email_kept(
        &self,
        rules: &ProviderRules,
        user: &User,
        wanted: &Email,
        holder: &User,
        actor: &AuditActor,
    ) -> ServiceResult<()> {
        tracing::warn!(
            provider = rules.name.as_str(),
            user = user.user_name.as_str(),
            held_by = holder.user_name.as_str(),
            "the identity provider gives this user an e-mail address another account holds; the old address is kept"
        );
        let entry = AuditEntry::about_user(actor, self.ctx.clock.now(), "sso.email-kept", user)
            .with_detail("provider", rules.name.as_str())
            .with_detail("email", wanted.as_str())
            .with_detail("heldBy", holder.user_name.as_str())
            .with_detail("kept", user.email.as_ref().map(|e| e.as_str().to_string()));
        self.ctx.store.append_audit(&entry).await?;
        Ok(())
    }
}

/// The link `assertion` makes or refreshes: the provider, the subject and the user name there.
fn identity(rules: &ProviderRules, assertion: &Assertion) -> FederatedIdentity {
    FederatedIdentity {
        provider: rules.name.clone(),
        subject: assertion.subject.clone(),
        user_name: Some(assertion.user_name.clone()),
    }
}

/// A display name from the provider, by the rule of names typed into Tessera
/// ([`parse_display_name`]); the claim was checked against that rule before (an overlong or
/// invisible-holding name refuses the sign-in), so nothing is cut here.
fn text(raw: &str) -> String {
    parse_display_name("name", raw, crate::sso::MAX_NAME_CHARS).unwrap_or_default()
}
