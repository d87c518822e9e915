//! Users: creation, profile, roles, activation and passwords. Administration is SysAdmin only.

use crate::audit::{AuditActor, AuditEntry};
use crate::authn::Caller;
use crate::ids::UserId;
use crate::model::{PrincipalKind, User};
use crate::names::{Email, FieldError, UserName, parse_display_name};
use crate::paging::{Page, Total};
use crate::password;
use crate::policy;
use crate::roles::{Role, RoleSet};
use crate::sso::FederatedIdentity;
use crate::store::{PrincipalQuery, ProfilePatch};

use super::{Context, ServiceError, ServiceResult};

/// A user to create, parsed.
pub struct NewUser {
    pub user_name: UserName,
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    pub roles: RoleSet,
    pub password: Option<String>,
}

impl NewUser {
    pub fn parse(
        user_name: &str,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        roles: Option<&[String]>,
        password: Option<String>,
    ) -> Result<NewUser, FieldError> {
        if let Some(p) = &password {
            password::check_new("password", p)?;
        }
        Ok(NewUser {
            user_name: UserName::parse("userName", user_name)?,
            email: Email::parse("email", email)?,
            first_name: parse_display_name("firstName", first_name.unwrap_or(""), 128)?,
            last_name: parse_display_name("lastName", last_name.unwrap_or(""), 128)?,
            roles: match roles {
                Some(r) => RoleSet::parse_all("roles", r)?,
                None => RoleSet::default_for_new_user(),
            },
            password,
        })
    }
}

#[derive(Clone)]
pub struct UserService {
    ctx: Context,
}

impl UserService {
    pub fn new(ctx: Context) -> UserService {
        UserService { ctx }
    }

    async fn insert(&self, request: NewUser, actor: &AuditActor) -> ServiceResult<User> {
        let now = self.ctx.clock.now();
        let user = User {
            email: Some(request.email),
            first_name: request.first_name,
            last_name: request.last_name,
            created_by: actor.user_id,
            ..User::new(PrincipalKind::User, request.user_name, request.roles, now)
        };
        let hash = match request.password {
            Some(p) => Some(password::hash(p).await?),
            None => None,
        };
        let audit = AuditEntry::about_user(actor, user.created_at, "user.created", &user)
            .with_detail("roles", user.roles.to_storage());
        self.ctx
            .store
            .insert_principal(&user, hash.as_deref(), &audit)
            .await?;
        Ok(user)
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn create(&self, caller: &Caller, request: NewUser) -> ServiceResult<User> {
        policy::require_admin(caller)?;
        self.insert(request, &caller.audit_actor()).await
    }

    /// `tessera admin user create`: an operator with direct access to the database.
    #[tracing::instrument(skip_all)]
    pub async fn create_by_operator(&self, request: NewUser) -> ServiceResult<User> {
        self.insert(request, &AuditActor::command_line()).await
    }

    /// First start on an empty database: creates `admin` (SysAdmin) with `password`.
    /// Returns `None` when the database already has principals.
    #[tracing::instrument(skip_all)]
    pub async fn bootstrap_admin(&self, password: String) -> ServiceResult<Option<User>> {
        if self.ctx.store.count_principals().await? > 0 {
            return Ok(None);
        }
        let request = NewUser {
            user_name: UserName::parse("userName", "admin")?,
            email: Email::parse("email", "admin@localhost.localdomain")?,
            first_name: "Admin".into(),
            last_name: String::new(),
            roles: RoleSet::new([Role::SysAdmin, Role::Practitioner]),
            password: Some(password),
        };
        match self.insert(request, &AuditActor::system()).await {
            Ok(user) => Ok(Some(user)),
            // Another node sharing the database bootstrapped first.
            Err(ServiceError::Conflict(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn list(&self, caller: &Caller, query: PrincipalQuery) -> ServiceResult<Page<User>> {
        policy::require_admin(caller)?;
        self.ctx.principals_page(PrincipalKind::User, query).await
    }

    /// How many users match `query` (capped, see [`crate::paging::COUNT_CAP`]).
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn count(&self, caller: &Caller, query: PrincipalQuery) -> ServiceResult<Total> {
        policy::require_admin(caller)?;
        self.ctx.principals_count(PrincipalKind::User, query).await
    }

    /// `GET /v4/users`: any authenticated principal may list users, as in Domino.
    #[tracing::instrument(skip_all, fields(caller = %_caller.principal().id))]
    pub async fn directory(
        &self,
        _caller: &Caller,
        mut query: PrincipalQuery,
    ) -> ServiceResult<Vec<User>> {
        query.kind = Some(PrincipalKind::User);
        Ok(self.ctx.store.list_principals(&query).await?)
    }

    async fn user(&self, id: UserId) -> ServiceResult<User> {
        self.ctx
            .principal_of_kind(id, PrincipalKind::User, "user")
            .await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn get(&self, caller: &Caller, id: UserId) -> ServiceResult<User> {
        policy::require_admin(caller)?;
        self.user(id).await
    }

    /// The identity-provider links of `users` (at most 1,000), for the administrator's view:
    /// each user's links, in the order of `users`; an empty list for a local account. SysAdmin
    /// only.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, users = users.len()))]
    pub async fn federated_identities(
        &self,
        caller: &Caller,
        users: &[User],
    ) -> ServiceResult<Vec<Vec<FederatedIdentity>>> {
        policy::require_admin(caller)?;
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let mut by_user: std::collections::BTreeMap<UserId, Vec<FederatedIdentity>> =
            std::collections::BTreeMap::new();
        for (id, link) in self.ctx.store.federated_identities(&ids).await? {
            by_user.entry(id).or_default().push(link);
        }
        Ok(ids
            .iter()
            .map(|id| by_user.remove(id).unwrap_or_default())
            .collect())
    }

    /// The identity-provider links of `caller` themself (empty for a local account), for their
    /// own account page.
    pub async fn own_federated_identities(
        &self,
        caller: &Caller,
    ) -> ServiceResult<Vec<FederatedIdentity>> {
        let me = caller.principal().id;
        Ok(self
            .ctx
            .store
            .federated_identities(&[me])
            .await?
            .into_iter()
            .map(|(_, link)| link)
            .collect())
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn update_profile(
        &self,
        caller: &Caller,
        id: UserId,
        patch: ProfilePatch,
    ) -> ServiceResult<User> {
        policy::require_admin(caller)?;
        let target = self.user(id).await?;
        let audit = AuditEntry::about_user(
            &caller.audit_actor(),
            self.ctx.clock.now(),
            "user.updated",
            &target,
        );
        let user = self
            .ctx
            .store
            .update_profile(id, &patch, &audit)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        self.ctx.forget_principal(id).await;
        Ok(user)
    }

    /// A user's own name, from account settings. The e-mail stays with administrators: model
    /// APIs are shared by e-mail, so changing one's own would change what one is granted.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn update_own_name(
        &self,
        caller: &Caller,
        first_name: &str,
        last_name: &str,
    ) -> ServiceResult<User> {
        policy::require_person(caller)?;
        let first_name = parse_display_name("firstName", first_name, 128)?;
        let last_name = parse_display_name("lastName", last_name, 128)?;
        let me = caller.principal();
        // A user who signs in with an identity provider gets their names from it at every
        // sign-in: a change here would be silently undone (found by the fifth review of #17).
        let changed: Vec<&'static str> = [
            ("firstName", first_name != me.first_name),
            ("lastName", last_name != me.last_name),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect();
        if let Some(field) = changed.first()
            && let Some(link) = self.own_federated_identities(caller).await?.first()
        {
            return Err(ServiceError::Invalid(FieldError::new(
                field,
                format!(
                    "{} cannot be changed here: your first and last name come from the identity provider {} and are refreshed at each sign-in; change them there",
                    changed.join(" and "),
                    link.provider
                ),
            )));
        }
        let patch = ProfilePatch {
            first_name: Some(first_name),
            last_name: Some(last_name),
            ..ProfilePatch::default()
        };
        let audit = AuditEntry::about_user(
            &caller.audit_actor(),
            self.ctx.clock.now(),
            "user.updated",
            me,
        );
        let user = self
            .ctx
            .store
            .update_profile(me.id, &patch, &audit)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        self.ctx.forget_principal(me.id).await;
        Ok(user)
    }

    /// Replaces the role set. When it changes, every PAT of the user is revoked in the same
    /// transaction (SPEC section 1); returns the user and how many PATs were revoked.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn set_roles(
        &self,
        caller: &Caller,
        id: UserId,
        roles: RoleSet,
    ) -> ServiceResult<(User, usize)> {
        policy::require_admin(caller)?;
        self.user(id).await?;
        if id == caller.principal().id && !roles.contains(Role::SysAdmin) {
            return Err(ServiceError::Conflict(
                "administrators cannot remove SysAdmin from themselves; ask another administrator"
                    .into(),
            ));
        }
        let (user, revoked) = self
            .ctx
            .store
            .set_roles(id, &roles, self.ctx.clock.now(), &caller.audit_actor())
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        self.ctx.forget(&revoked).await;
        self.ctx.forget_principal(id).await;
        Ok((user, revoked.len()))
    }

    /// Deactivation revokes every credential of the user; activation restores the login only.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn set_active(
        &self,
        caller: &Caller,
        id: UserId,
        active: bool,
    ) -> ServiceResult<User> {
        policy::require_admin(caller)?;
        self.user(id).await?;
        if !active && id == caller.principal().id {
            return Err(ServiceError::Conflict(
                "administrators cannot deactivate themselves".into(),
            ));
        }
        self.ctx
            .set_active(id, active, &caller.audit_actor(), "user")
            .await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn set_password(
        &self,
        caller: &Caller,
        id: UserId,
        new_password: String,
    ) -> ServiceResult<()> {
        policy::require_admin(caller)?;
        password::check_new("password", &new_password)?;
        let target = self.user(id).await?;
        let hash = password::hash(new_password).await?;
        let audit = AuditEntry::about_user(
            &caller.audit_actor(),
            self.ctx.clock.now(),
            "user.password-set",
            &target,
        );
        if !self.ctx.store.set_password_hash(id, &hash, &audit).await? {
            return Err(ServiceError::NotFound("user"));
        }
        // Whoever knew the old password is logged out.
        self.ctx
            .store
            .delete_sessions_of(id, self.ctx.clock.now())
            .await?;
        Ok(())
    }
}
