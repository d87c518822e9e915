//! Authentication: from a presented secret to a `Caller`, from memory when the credential was
//! seen recently, from the store otherwise.
//!
//! Every failure — malformed, unknown, expired, revoked, deleted, owner deactivated — is the
//! same `AuthError::Invalid`, so that callers cannot tell them apart, by the answer or by its
//! time: a well-formed secret the store refused is remembered (`refused`) and refused again
//! from memory, and the store returns no row for a revoked or expired secret, as for an
//! unknown one. Nothing here logs a secret.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::audit::AuditActor;
use crate::cache::{CacheEntry, CredentialCache, CredentialRef};
use crate::clock::Clock;
use crate::ids::{CredentialId, UserId};
use crate::model::{CredentialKind, Timestamp, User};
use crate::names::TokenName;
use crate::realm::{JwtVerifier, MAX_JWT_LEN, looks_like_jwt};
use crate::secret::{SecretHasher, TokenHash, parse_presented};
use crate::store::{Store, StoreError};
use crate::usage::UsageRecorder;

/// How a secret reached the server; each channel accepts only some kinds.
#[derive(Clone, Copy, Debug)]
pub enum Presented<'a> {
    /// `Authorization: Bearer` — PATs and service-account tokens.
    Bearer(&'a str),
    /// `X-Domino-Api-Key`, or HTTP Basic with an empty user name — legacy API keys.
    ApiKey(&'a str),
}

impl<'a> Presented<'a> {
    fn value(self) -> &'a str {
        match self {
            Presented::Bearer(v) | Presented::ApiKey(v) => v,
        }
    }

    fn accepts(self, kind: CredentialKind) -> bool {
        match self {
            Presented::Bearer(_) => matches!(
                kind,
                CredentialKind::Pat | CredentialKind::ServiceAccountToken
            ),
            Presented::ApiKey(_) => kind == CredentialKind::ApiKey,
        }
    }
}

/// An authenticated request's principal and credential. Cheap to clone.
#[derive(Clone)]
pub struct Caller {
    entry: Arc<CacheEntry>,
    pub ip: Option<IpAddr>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("user", &self.principal().user_name)
            .field("credential", &self.credential().id)
            .finish()
    }
}

impl Caller {
    pub fn new(entry: Arc<CacheEntry>, ip: Option<IpAddr>) -> Caller {
        Caller { entry, ip }
    }

    pub fn principal(&self) -> &User {
        &self.entry.principal
    }

    pub fn credential(&self) -> &CredentialRef {
        &self.entry.credential
    }

    pub fn audit_actor(&self) -> AuditActor {
        AuditActor {
            user_id: Some(self.principal().id),
            user_name: Some(self.principal().user_name.to_string()),
            ip: self.ip.map(|ip| ip.to_string()),
            credential_id: Some(self.credential().id),
            credential_name: Some(self.credential().name.to_string()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the credential is not valid")]
    Invalid,
    #[error("credentials cannot be verified right now")]
    Unavailable(#[source] StoreError),
}

/// The outcome of the in-memory step.
pub enum FastPath {
    Hit(Caller),
    /// Well-formed but not cached: the store must be asked.
    Miss(TokenHash, CredentialKind),
    Invalid,
}

pub struct Authenticator {
    store: Arc<dyn Store>,
    cache: Arc<CredentialCache>,
    hasher: SecretHasher,
    clock: Arc<dyn Clock>,
    usage: UsageRecorder,
    jwt: Option<Arc<JwtVerifier>>,
    /// Secrets looked up in the store (cache misses that were not remembered refusals).
    lookups: AtomicU64,
}

impl Authenticator {
    pub fn new(
        store: Arc<dyn Store>,
        cache: Arc<CredentialCache>,
        hasher: SecretHasher,
        clock: Arc<dyn Clock>,
        usage: UsageRecorder,
    ) -> Authenticator {
        Authenticator {
            store,
            cache,
            hasher,
            clock,
            usage,
            jwt: None,
            lookups: AtomicU64::new(0),
        }
    }

    /// How many presented secrets were looked up in the store since start: what verification
    /// cost the database (a hit, or a refusal remembered, costs nothing).
    pub fn store_lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// Also accepts the realm's access tokens as Bearer credentials.
    pub fn with_jwt(mut self, verifier: Arc<JwtVerifier>) -> Authenticator {
        self.jwt = Some(verifier);
        self
    }

    pub async fn authenticate(
        &self,
        presented: Presented<'_>,
        ip: Option<IpAddr>,
    ) -> Result<Caller, AuthError> {
        let now = self.clock.now();
        match self.fast_path(presented, ip, now) {
            FastPath::Hit(caller) => Ok(caller),
            FastPath::Invalid => Err(AuthError::Invalid),
            FastPath::Miss(hash, CredentialKind::AccessToken) => {
                self.look_up_jwt(presented.value(), hash, ip, now).await
            }
            FastPath::Miss(hash, kind) => self.look_up(hash, kind, ip, now).await,
        }
    }

    /// Checksum, keyed hash and cache lookup: no I/O, no allocation on a hit. A secret refused
    /// recently is `Invalid` here, whatever the reason it was refused.
    pub fn fast_path(
        &self,
        presented: Presented<'_>,
        ip: Option<IpAddr>,
        now: Timestamp,
    ) -> FastPath {
        let Some(well_formed) = parse_presented(presented.value()) else {
            return self.jwt_fast_path(presented, ip, now);
        };
        let Some(kind) = CredentialKind::from_secret_kind(well_formed.kind) else {
            return FastPath::Invalid;
        };
        if !presented.accepts(kind) {
            return FastPath::Invalid;
        }
        let hash = self.hasher.hash(well_formed.as_str());
        let now_ms = now.timestamp_millis();
        match self.cache.get(&hash, now_ms) {
            Some(entry) if entry.credential.expires_at.is_none_or(|at| at > now) => {
                self.usage.record(&entry, now, ip);
                FastPath::Hit(Caller::new(entry, ip))
            }
            Some(_) => {
                // Expired while cached: refused from now on like any other expired secret.
                self.cache.evict_hashes([hash]);
                self.cache
                    .remember_refusal(self.cache.ticket(), hash, None, now_ms);
                FastPath::Invalid
            }
            None if self.cache.is_refused(&hash, now_ms) => FastPath::Invalid,
            None => FastPath::Miss(hash, kind),
        }
    }

    /// A realm JWT seen recently is served from the cache like any other credential. Its shape
    /// (`looks_like_jwt`, a pass over its kilobyte) is checked only on a miss: only tokens that
    /// had it were verified and cached, and the keyed hash of the whole token finds one only if
    /// it is that token, byte for byte (issue #16).
    fn jwt_fast_path(
        &self,
        presented: Presented<'_>,
        ip: Option<IpAddr>,
        now: Timestamp,
    ) -> FastPath {
        let Presented::Bearer(value) = presented else {
            return FastPath::Invalid;
        };
        // The length bound of `looks_like_jwt`, before hashing: no caller makes us hash more.
        if self.jwt.is_none() || value.len() >= MAX_JWT_LEN {
            return FastPath::Invalid;
        }
        let hash = self.hasher.hash(value);
        match self.cache.get(&hash, now.timestamp_millis()) {
            Some(entry) if entry.credential.expires_at.is_some_and(|at| at > now) => {
                FastPath::Hit(Caller::new(entry, ip))
            }
            Some(_) => {
                self.cache.evict_hashes([hash]);
                FastPath::Invalid
            }
            None if looks_like_jwt(value) => FastPath::Miss(hash, CredentialKind::AccessToken),
            None => FastPath::Invalid,
        }
    }

    async fn look_up_jwt(
        &self,
        token: &str,
        hash: TokenHash,
        ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<Caller, AuthError> {
        let verifier = self.jwt.as_ref().ok_or(AuthError::Invalid)?;
        let ticket = self.cache.ticket();
        let claims = verifier
            .verify(token, now)
            .map_err(|_| AuthError::Invalid)?;
        let user_id = UserId::parse(&claims.sub).ok_or(AuthError::Invalid)?;
        // Derived tokens die with their source (SPEC section 2): the credential named by `sid`
        // must still be live and belong to the subject. One read, then served from the cache
        // until the source is revoked (which evicts this entry with it).
        let source = claims
            .sid
            .as_deref()
            .and_then(CredentialId::parse)
            .ok_or(AuthError::Invalid)?;
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let found = self
            .store
            .credential(source)
            .await
            .map_err(AuthError::Unavailable)?
            .ok_or(AuthError::Invalid)?;
        let derivable = matches!(
            found.credential.kind,
            CredentialKind::Pat | CredentialKind::ServiceAccountToken | CredentialKind::ApiKey
        );
        if !derivable || found.owner.id != user_id || !found.credential.is_valid(now) {
            return Err(AuthError::Invalid);
        }
        let user = found.owner;
        let not_before_ms = user.tokens_not_before.map(|t| t.timestamp_millis());
        if !user.is_active() || not_before_ms.is_some_and(|nb| claims.issued_at_ms() < nb) {
            return Err(AuthError::Invalid);
        }
        let expires_at =
            chrono::DateTime::from_timestamp(claims.exp, 0).ok_or(AuthError::Invalid)?;
        let entry = Arc::new(CacheEntry::new(
            CredentialRef {
                // The source credential: tokens minted for this caller (the gateway's) derive
                // from the same source and die with it.
                id: source,
                kind: CredentialKind::AccessToken,
                name: TokenName::from_trusted("access-token".into()),
                expires_at: Some(expires_at),
            },
            Arc::new(user),
        ));
        self.cache.insert(ticket, hash, entry.clone());
        Ok(Caller::new(entry, ip))
    }

    async fn look_up(
        &self,
        hash: TokenHash,
        kind: CredentialKind,
        ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<Caller, AuthError> {
        let ticket = self.cache.ticket();
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let now_ms = now.timestamp_millis();
        // An error is not a refusal: nothing is remembered, and the caller fails closed.
        let Some(found) = self
            .store
            .live_credential_by_hash(&hash, now)
            .await
            .map_err(AuthError::Unavailable)?
        else {
            self.cache.remember_refusal(ticket, hash, None, now_ms);
            return Err(AuthError::Invalid);
        };
        let credential = found.credential;
        if !(credential.hash.ct_eq(&hash) && credential.kind == kind && credential.is_valid(now)) {
            self.cache.remember_refusal(ticket, hash, None, now_ms);
            return Err(AuthError::Invalid);
        }
        if !found.owner.is_active() {
            // Valid again if the owner is activated: remembered with the owner.
            self.cache
                .remember_refusal(ticket, hash, Some(found.owner.id), now_ms);
            return Err(AuthError::Invalid);
        }
        let entry = Arc::new(CacheEntry::new(
            CredentialRef {
                id: credential.id,
                kind: credential.kind,
                name: credential.name,
                expires_at: credential.expires_at,
            },
            Arc::new(found.owner),
        ));
        self.usage.seed(&entry);
        self.cache.insert(ticket, hash, entry.clone());
        self.usage.record(&entry, now, ip);
        Ok(Caller::new(entry, ip))
    }
}
