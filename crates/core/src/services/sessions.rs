//! Web UI sessions: log in with a user name and password (argon2id), a session secret carried
//! only in a cookie (its keyed hash stored), resolved to a `Caller` on every page, ended by
//! logout, by its absolute lifetime (12 h), by two hours without a request (`last_seen_at`,
//! written at most once a minute), or by the user's deactivation. Service accounts have no
//! password and cannot log in. Each session has a CSRF token derived from its secret.

use std::sync::Arc;

use crate::audit::{AuditActor, AuditEntry};
use crate::authn::Caller;
use crate::cache::{CacheEntry, CredentialRef};
use crate::ids::CredentialId;
use crate::model::{CredentialKind, PrincipalKind, UserStatus};
use crate::names::{TokenName, UserName};
use crate::secret::{Secret, SecretKind, parse_presented};
use crate::store::WebSession;

use super::{Context, ServiceResult};

/// How long a session lasts from login, whatever its use.
pub const SESSION_LIFETIME: chrono::Duration = chrono::Duration::hours(12);
/// A session unused this long ends.
pub const SESSION_IDLE: chrono::Duration = chrono::Duration::hours(2);
/// How stale the recorded last use may get: at most one write a minute per session.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// A valid argon2id hash of a random password: verified against when the user is unknown, so
/// that a failed login costs the same whether or not the name exists.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0ZsfbkZMg0Q4Ab9jVkYgqQy3yqAWZsE0MkK2kxH9ZD8";

pub struct SessionService {
    ctx: Context,
}

/// A new session: its secret goes into the cookie, once.
pub struct NewSession {
    pub secret: Secret,
    pub session: WebSession,
}

impl SessionService {
    pub fn new(ctx: Context) -> SessionService {
        SessionService { ctx }
    }

    /// Checks the password; `None` for any failure (unknown user, wrong password, no password,
    /// deactivated, service account), all alike.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        user_name: &str,
        password: &str,
        ip: Option<std::net::IpAddr>,
    ) -> ServiceResult<Option<NewSession>> {
        let found = match UserName::parse("userName", user_name) {
            Ok(name) => self.ctx.store.password_hash(&name).await?,
            Err(_) => None,
        };
        let (user, stored) = match found {
            Some((user, Some(stored))) => (Some(user), stored),
            _ => (None, DUMMY_HASH.to_string()),
        };
        let matches = crate::password::verify(password.to_string(), stored).await;
        let Some(user) = user
            .filter(|u| matches && u.kind == PrincipalKind::User && u.status == UserStatus::Active)
        else {
            return Ok(None);
        };
        self.open(&user, ip, None).await.map(Some)
    }

    /// Refuses a password attempt that may not be made (passwords switched off for this name)
    /// after the same work as a refused [`SessionService::login`]: the account looked up and a
    /// password hash verified (against a dummy hash), so that neither the answer nor its time
    /// tells which name is the break-glass administrator (SPEC section 9: refusals cost the
    /// same).
    #[tracing::instrument(skip_all)]
    pub async fn refuse_password(&self, user_name: &str, password: &str) -> ServiceResult<()> {
        if let Ok(name) = UserName::parse("userName", user_name) {
            self.ctx.store.password_hash(&name).await?;
        }
        let _ = crate::password::verify(password.to_string(), DUMMY_HASH.to_string()).await;
        Ok(())
    }

    /// Opens a session for `user`, who proved who they are by password or, when `provider` is
    /// named, through that identity provider (SPEC section 10); audited as `user.logged-in`.
    #[tracing::instrument(skip_all)]
    pub async fn open(
        &self,
        user: &crate::model::User,
        ip: Option<std::net::IpAddr>,
        provider: Option<&str>,
    ) -> ServiceResult<NewSession> {
        let now = self.ctx.clock.now();
        let session = WebSession {
            id: CredentialId::new(),
            user_id: user.id,
            created_at: now,
            expires_at: now + SESSION_LIFETIME,
            last_seen_at: now,
        };
        let secret = Secret::generate(SecretKind::Session);
        self.ctx
            .store
            .insert_session(&session, &self.ctx.hasher.hash(secret.expose()))
            .await?;
        let actor = AuditActor {
            user_id: Some(user.id),
            user_name: Some(user.user_name.to_string()),
            ip: ip.map(|ip| ip.to_string()),
            credential_id: Some(session.id),
            credential_name: Some("web session".into()),
        };
        let mut entry = AuditEntry::about_user(&actor, now, "user.logged-in", user);
        if let Some(provider) = provider {
            entry = entry.with_detail("provider", provider);
        }
        self.ctx.store.append_audit(&entry).await?;
        Ok(NewSession { secret, session })
    }

    /// The caller a cookie's secret stands for, read from the database on every call so that
    /// logout and deactivation take effect at once. `None` when it stands for nothing.
    #[tracing::instrument(skip_all)]
    pub async fn resolve(&self, secret: &str) -> ServiceResult<Option<Caller>> {
        let Some(well_formed) = parse_presented(secret).filter(|w| w.kind == SecretKind::Session)
        else {
            return Ok(None);
        };
        let hash = self.ctx.hasher.hash(well_formed.as_str());
        let now = self.ctx.clock.now();
        let Some(session) = self
            .ctx
            .store
            .session(&hash, now, now - SESSION_IDLE)
            .await?
        else {
            return Ok(None);
        };
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.ctx.store.touch_session(session.id, now).await?;
        }
        let Some(user) = self.ctx.store.principal(session.user_id).await? else {
            return Ok(None);
        };
        if user.kind != PrincipalKind::User || user.status != UserStatus::Active {
            return Ok(None);
        }
        let credential = CredentialRef {
            id: session.id,
            kind: CredentialKind::WebSession,
            name: TokenName::from_trusted("web session".into()),
            expires_at: Some(session.expires_at),
        };
        Ok(Some(Caller::new(
            Arc::new(CacheEntry::new(credential, Arc::new(user))),
            None,
        )))
    }

    /// Ends the session (logout).
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn end(&self, caller: &Caller) -> ServiceResult<()> {
        if caller.credential().kind == CredentialKind::WebSession {
            self.ctx
                .store
                .delete_session(caller.credential().id)
                .await?;
            let entry = AuditEntry::about_user(
                &caller.audit_actor(),
                self.ctx.clock.now(),
                "user.logged-out",
                caller.principal(),
            );
            self.ctx.store.append_audit(&entry).await?;
        }
        Ok(())
    }

    /// The CSRF token of the session whose cookie holds `secret`: unguessable without the
    /// cookie, the same for the session's whole life.
    pub fn csrf_token(&self, secret: &str) -> String {
        self.ctx.hasher.hash(&format!("csrf:{secret}")).to_hex()
    }

    /// Whether a form's `presented` CSRF token is the session's, compared in constant time.
    pub fn csrf_matches(&self, secret: &str, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.csrf_token(secret);
        expected.len() == presented.len()
            && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_dummy_hash_is_a_real_argon2_hash_that_matches_nothing_typed() {
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!crate::password::verify("admin".into(), DUMMY_HASH.into()).await);
    }
}
