//! Domain services: each takes the caller, asks `policy`, validates, calls the store once and
//! keeps the verification cache coherent with what it changed.

pub mod api_keys;
pub mod audit_log;
pub mod organizations;
pub mod pats;
pub mod service_accounts;
pub mod users;

use std::sync::Arc;

use crate::cache::CredentialCache;
use crate::clock::Clock;
use crate::ids::UserId;
use crate::invalidation::{Invalidation, InvalidationBus};
use crate::model::Credential;
use crate::names::FieldError;
use crate::password::HashError;
use crate::secret::SecretHasher;
use crate::store::{Store, StoreError};

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
            other => ServiceError::Store(other),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// What every service needs: the store, the cache it must keep coherent (here and, through the
/// bus, on every other node), the hasher, the clock.
#[derive(Clone)]
pub struct Context {
    pub store: Arc<dyn Store>,
    pub cache: Arc<CredentialCache>,
    pub bus: Arc<dyn InvalidationBus>,
    pub hasher: SecretHasher,
    pub clock: Arc<dyn Clock>,
}

impl Context {
    /// Makes credentials that were just revoked or deleted unusable on the next request, here
    /// and on the other nodes. Called after the change is committed, before it is acknowledged.
    pub async fn forget(&self, credentials: &[Credential]) {
        if !credentials.is_empty() {
            self.cache.evict_hashes(credentials.iter().map(|c| c.hash));
            self.bus
                .publish(&Invalidation::credentials(
                    credentials.iter().map(|c| c.hash),
                ))
                .await;
        }
    }

    /// Drops everything cached for a principal whose roles, status or claims changed.
    pub async fn forget_principal(&self, id: UserId) {
        self.cache.evict_principal(id);
        self.bus.publish(&Invalidation::Principal(id)).await;
    }
}
