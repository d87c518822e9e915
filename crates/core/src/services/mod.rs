//! Domain services: each takes the caller, asks `policy`, validates, calls the store once and
//! keeps the verification cache coherent with what it changed.

pub mod api_keys;
pub mod audit_log;
pub mod model_apis;
pub mod model_serving;
pub mod organizations;
pub mod pats;
pub mod projects;
pub mod service_accounts;
pub mod sessions;
pub mod sso;
pub mod users;

use std::sync::Arc;

use crate::cache::CredentialCache;
use crate::clock::Clock;
use crate::ids::CredentialId;
use crate::ids::UserId;
use crate::invalidation::{Invalidation, InvalidationBus};
use crate::model::{Credential, CredentialKind, PrincipalKind, User};
use crate::names::FieldError;
use crate::names::TokenName;
use crate::paging::{Page, Total};
use crate::password::HashError;
use crate::secret::SecretHasher;
use crate::secret::{Secret, SecretKind};
use crate::store::{PrincipalQuery, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Password(#[from] HashError),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> ServiceError {
        match error {
            StoreError::Conflict { field } => {
                ServiceError::Conflict(format!("{field} is already taken"))
            }
            StoreError::Unstorable => ServiceError::Invalid(FieldError::new(
                "text",
                "contains a NUL character (\\u0000), which cannot be stored",
            )),
            other => ServiceError::Store(other),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// How an insert's store error reads: a conflict (a unique name already taken) as a
/// `Conflict` whose message `taken` writes, naming what clashed; any other as `From` maps it.
pub(crate) fn taken(taken: impl FnOnce() -> String) -> impl FnOnce(StoreError) -> ServiceError {
    move |error| match error {
        StoreError::Conflict { .. } => ServiceError::Conflict(taken()),
        other => other.into(),
    }
}

/// What every service needs: the store, the cache it must keep coherent (here and, through the
/// bus, on every other node), the hasher, the clock.
#[derive(Clone)]
pub struct Context {
    pub store: Arc<dyn Store>,
    pub cache: Arc<CredentialCache>,
    pub bus: Arc<dyn InvalidationBus>,
    pub hasher: SecretHasher,
    pub clock: Arc<dyn Clock>,
    /// What invocations know of each model API (see `serving_cache`).
    pub serving: Arc<crate::serving_cache::ServingCache>,
}

impl Context {
    /// The authenticator over this context's store, cache, hasher and clock, recording last
    /// use through `usage`.
    pub fn authenticator(&self, usage: crate::usage::UsageRecorder) -> crate::authn::Authenticator {
        crate::authn::Authenticator::new(
            self.store.clone(),
            self.cache.clone(),
            self.hasher.clone(),
            self.clock.clone(),
            usage,
        )
    }

    /// Makes invocations of `id` see a change just committed, here and on the other nodes.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn forget_model_api(&self, id: crate::ids::ModelApiId) {
        self.serving.evict(id);
        self.bus.publish(&Invalidation::ModelApi(id)).await;
    }

    /// Makes credentials that were just revoked or deleted unusable on the next request, here
    /// and on the other nodes. Called after the change is committed, before it is acknowledged.
    #[tracing::instrument(skip_all)]
    pub async fn forget(&self, credentials: &[Credential]) {
        if !credentials.is_empty() {
            self.cache.evict_hashes(credentials.iter().map(|c| c.hash));
            self.cache
                .evict_credentials(credentials.iter().map(|c| c.id));
            self.bus
                .publish(&Invalidation::credentials(
                    credentials.iter().map(|c| c.hash),
                ))
                .await;
            self.bus
                .publish(&Invalidation::Sources(
                    credentials.iter().map(|c| c.id.to_string()).collect(),
                ))
                .await;
        }
    }

    /// A page of the principals of `kind` matching `query` (its `kind` is set here), by name.
    /// The caller's right to see them is the service's to check first.
    pub(crate) async fn principals_page(
        &self,
        kind: PrincipalKind,
        mut query: PrincipalQuery,
    ) -> ServiceResult<Page<User>> {
        query.kind = Some(kind);
        let found = self.store.list_principals(&query).await?;
        Ok(Page::of(found, query.limit, PrincipalQuery::cursor_after))
    }

    /// How many principals of `kind` match `query` (capped, see [`crate::paging::COUNT_CAP`]).
    pub(crate) async fn principals_count(
        &self,
        kind: PrincipalKind,
        mut query: PrincipalQuery,
    ) -> ServiceResult<Total> {
        query.kind = Some(kind);
        Ok(self.store.count_matching_principals(&query).await?)
    }

    /// Principal `id` when it is of `kind`; otherwise `NotFound(what)`.
    pub(crate) async fn principal_of_kind(
        &self,
        id: UserId,
        kind: PrincipalKind,
        what: &'static str,
    ) -> ServiceResult<User> {
        self.store
            .principal(id)
            .await?
            .filter(|u| u.kind == kind)
            .ok_or(ServiceError::NotFound(what))
    }

    /// A new live credential of `kind` for `principal`, with its secret (to show once).
    pub fn new_credential(
        &self,
        kind: CredentialKind,
        principal: UserId,
        name: TokenName,
        description: String,
        lifetime_secs: Option<i64>,
    ) -> (Credential, Secret) {
        let secret_kind = match kind {
            CredentialKind::Pat | CredentialKind::AccessToken => SecretKind::Pat,
            CredentialKind::WebSession => SecretKind::Session,
            CredentialKind::ServiceAccountToken => SecretKind::ServiceAccountToken,
            CredentialKind::ApiKey => SecretKind::ApiKey,
        };
        let secret = Secret::generate(secret_kind);
        let now = self.clock.now();
        let credential = Credential {
            id: CredentialId::new(),
            kind,
            principal_id: principal,
            name,
            description,
            hash: self.hasher.hash(secret.expose()),
            created_at: now,
            lifetime_secs,
            expires_at: lifetime_secs.map(|secs| now + chrono::Duration::seconds(secs)),
            revoked_at: None,
            revoked_reason: None,
            last_used_at: None,
            last_used_ip: None,
        };
        (credential, secret)
    }

    /// Activates or deactivates a principal (deactivation revokes its credentials), then makes
    /// every node forget what it cached. `what` names the principal kind in a 404.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn set_active(
        &self,
        id: UserId,
        active: bool,
        actor: &crate::audit::AuditActor,
        what: &'static str,
    ) -> ServiceResult<crate::model::User> {
        let (principal, revoked) = self
            .store
            .set_active(id, active, self.clock.now(), actor)
            .await?
            .ok_or(ServiceError::NotFound(what))?;
        if !active {
            self.store.delete_sessions_of(id, self.clock.now()).await?;
        }
        self.forget(&revoked).await;
        self.forget_principal(id).await;
        Ok(principal)
    }

    /// Drops everything cached for a principal whose roles, status or claims changed.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn forget_principal(&self, id: UserId) {
        self.cache.evict_principal(id);
        self.bus.publish(&Invalidation::Principal(id)).await;
    }
}
