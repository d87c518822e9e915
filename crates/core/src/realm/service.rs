//! The realm service: issues access tokens (token exchange), publishes the JWKS, the realm
//! document and the discovery document, and rotates signing keys.
//!
//! Signing runs on the blocking pool (RS256 takes about a millisecond); exchange results are
//! cached per credential until shortly before they expire, so steady traffic signs nothing.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use parking_lot::Mutex;
use serde_json::{Value, json};
use uuid::Uuid;

use super::claims::{ClaimMapper, MapperSource, TokenContext, access_claims};
use super::keys::{self, Algorithm, KeyCipher, KeyError, StoredKey};
use super::ring::{KeyRing, load_state};
use super::verify::JwtVerifier;
use crate::audit::{AuditActor, AuditEntry};
use crate::cache::CredentialRef;
use crate::clock::Clock;
use crate::ids::{CredentialId, UserId};
use crate::invalidation::{Invalidation, InvalidationBus};
use crate::model::{Timestamp, User};
use crate::store::{Store, StoreError};

/// Realm settings, checked at start-up.
#[derive(Clone, Debug)]
pub struct RealmSettings {
    pub name: String,
    pub issuer: String,
    pub audience: Vec<String>,
    pub azp: String,
    pub lifetime_secs: i64,
    pub algorithm: Algorithm,
    pub mappers: Vec<ClaimMapper>,
    pub leeway_secs: u64,
}

impl RealmSettings {
    /// Defaults for a public URL: realm `DominoRealm`, RS256, 5-minute tokens.
    pub fn new(public_url: &str) -> RealmSettings {
        let name = "DominoRealm".to_string();
        RealmSettings {
            issuer: format!("{}/auth/realms/{name}", public_url.trim_end_matches('/')),
            name,
            audience: vec!["domino-platform".into()],
            azp: "domino-play".into(),
            lifetime_secs: 300,
            algorithm: Algorithm::RS256,
            mappers: Vec::new(),
            leeway_secs: 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RealmError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing task failed: {0}")]
    Task(String),
}

/// An issued access token.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: i64,
}

/// An issued access token as the realm keeps it: the text shared with the cache, so that
/// serving a cached token copies nothing and its users can recognise it by address (the
/// gateway keeps the header it made of it, issue #16).
#[derive(Clone, Debug)]
pub struct SharedToken {
    pub token: Arc<str>,
    pub expires_in: i64,
}

/// Bound of the exchange cache; past it, expired entries go, then everything if need be.
const MAX_CACHED: usize = 100_000;

struct Cached {
    principal: UserId,
    token: Arc<str>,
    /// Milliseconds since the epoch.
    issued_ms: i64,
    expires_at: i64,
}

/// A UUIDv7 whose timestamp is `ms` (milliseconds since the epoch).
fn v7_at(ms: i64) -> Uuid {
    let ms = u64::try_from(ms).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        ms / 1000,
        u32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    );
    Uuid::new_v7(ts)
}

pub struct Realm {
    settings: RealmSettings,
    ring: Arc<KeyRing>,
    cipher: KeyCipher,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn InvalidationBus>,
    issued: Mutex<HashMap<CredentialId, Cached>>,
}

impl Realm {
    /// Loads the keys, generating the first one on an empty database.
    pub async fn start(
        settings: RealmSettings,
        cipher: KeyCipher,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        bus: Arc<dyn InvalidationBus>,
    ) -> Result<Realm, RealmError> {
        let publish_for = Duration::seconds(settings.lifetime_secs + settings.leeway_secs as i64);
        let stored = store.signing_keys().await?;
        let state = match load_state(&stored, &cipher)? {
            Some(state) => state,
            None => {
                insert_new_key(
                    &*store,
                    &cipher,
                    settings.algorithm,
                    clock.now(),
                    &AuditActor::system(),
                )
                .await?;
                load_state(&store.signing_keys().await?, &cipher)?
                    .ok_or_else(|| RealmError::Task("no active key after generating one".into()))?
            }
        };
        Ok(Realm {
            ring: Arc::new(KeyRing::new(state, publish_for)),
            settings,
            cipher,
            store,
            clock,
            bus,
            issued: Mutex::new(HashMap::new()),
        })
    }

    pub fn settings(&self) -> &RealmSettings {
        &self.settings
    }

    pub fn verifier(&self) -> JwtVerifier {
        JwtVerifier::new(
            self.ring.clone(),
            self.settings.issuer.clone(),
            self.settings.audience.clone(),
            self.settings.leeway_secs,
        )
    }

    /// Re-reads the keys from the store (after a rotation by another process).
    pub async fn reload(&self) -> Result<(), RealmError> {
        if let Some(state) = load_state(&self.store.signing_keys().await?, &self.cipher)? {
            self.ring.replace(state);
        }
        Ok(())
    }

    /// Makes a new active key; the previous one is retired but stays published until every
    /// token it signed has expired.
    pub async fn rotate(
        &self,
        algorithm: Option<Algorithm>,
        actor: &AuditActor,
    ) -> Result<(String, Algorithm), RealmError> {
        let alg = algorithm.unwrap_or(self.settings.algorithm);
        let kid = insert_new_key(&*self.store, &self.cipher, alg, self.clock.now(), actor).await?;
        self.reload().await?;
        self.issued.lock().clear();
        self.bus.publish(&Invalidation::Keys).await;
        Ok((kid, alg))
    }

    /// Forgets cached tokens of a principal whose claims changed.
    pub fn forget_principal(&self, id: UserId) {
        self.issued.lock().retain(|_, c| c.principal != id);
    }

    /// Forgets every cached token: after a gap in the invalidation stream.
    pub fn forget_all(&self) {
        self.issued.lock().clear();
    }

    /// Applies a change announced by a node of the deployment.
    pub async fn apply(&self, event: &Invalidation) {
        match event {
            Invalidation::Principal(id) => self.forget_principal(*id),
            Invalidation::Keys => {
                if let Err(error) = self.reload().await {
                    tracing::warn!(%error, "could not reload signing keys");
                }
            }
            Invalidation::Sources(_) => {
                for id in event.sources() {
                    self.forget_source(id);
                }
            }
            Invalidation::Credentials(_) | Invalidation::ModelApi(_) => {}
        }
    }

    /// The audience of a token asked for with RFC 8693 `audience` (or RFC 8707 `resource`)
    /// values: each must be one of the configured `realm.audience`; none asked for means all
    /// of them. `Err` names the first value this realm cannot issue for (`invalid_target`).
    pub fn audience_for(&self, requested: &[String]) -> Result<Vec<String>, String> {
        if requested.is_empty() {
            return Ok(self.settings.audience.clone());
        }
        let mut audience: Vec<String> = Vec::new();
        for value in requested {
            if !self.settings.audience.contains(value) {
                return Err(value.clone());
            }
            if !audience.contains(value) {
                audience.push(value.clone());
            }
        }
        Ok(audience)
    }

    /// An access token for `user` derived from `source` (the credential or session the caller
    /// authenticated with; SPEC section 2): it carries `sid` = the source's id and never
    /// outlives it. `audience`: `None` for the configured one, else a value checked by
    /// `audience_for`. The token issued for the same source and the default audience is reused
    /// while it has more than a fifth of its lifetime left and was issued after the user's
    /// not-before (compared in milliseconds).
    pub async fn issue(
        &self,
        user: &User,
        source: &CredentialRef,
        audience: Option<Vec<String>>,
    ) -> Result<IssuedToken, RealmError> {
        let shared = self.issue_shared(user, source, audience).await?;
        Ok(IssuedToken {
            token: shared.token.to_string(),
            expires_in: shared.expires_in,
        })
    }

    /// As `issue`, the token's text shared with the realm's cache: while the cached token is
    /// served, every call returns the same allocation (`Arc::ptr_eq`).
    ///
    /// # Errors
    /// As `issue`.
    pub async fn issue_shared(
        &self,
        user: &User,
        source: &CredentialRef,
        audience: Option<Vec<String>>,
    ) -> Result<SharedToken, RealmError> {
        let now = self.clock.now();
        let now_s = now.timestamp();
        let not_before_ms = user.tokens_not_before.map(|t| t.timestamp_millis());
        let credential = source.id;
        if audience.is_none()
            && let Some(cached) = self.issued.lock().get(&credential)
            && cached.principal == user.id
            && not_before_ms.is_none_or(|nb| cached.issued_ms >= nb)
            && cached.expires_at - now_s > self.settings.lifetime_secs / 5
        {
            return Ok(SharedToken {
                token: cached.token.clone(),
                expires_in: cached.expires_at - now_s,
            });
        }
        // Never earlier than the user's not-before, or the token would be refused at once.
        let issued_ms = now
            .timestamp_millis()
            .max(not_before_ms.unwrap_or(i64::MIN));
        let issued_at = issued_ms.div_euclid(1000);
        let mut expires_at = issued_at + self.settings.lifetime_secs;
        if let Some(source_expiry) = source.expires_at {
            expires_at = expires_at.min(source_expiry.timestamp());
        }
        let organizations = if self
            .settings
            .mappers
            .iter()
            .any(|m| m.source == MapperSource::Organizations)
        {
            self.store.organization_names_of(user.id).await?
        } else {
            Vec::new()
        };
        let attributes = if self
            .settings
            .mappers
            .iter()
            .any(ClaimMapper::reads_provided_attribute)
        {
            self.store.attributes_of(user.id).await?
        } else {
            Default::default()
        };
        let jti = v7_at(issued_ms).to_string();
        let sid = credential.to_string();
        let default_audience = audience.is_none();
        let audience = audience.unwrap_or_else(|| self.settings.audience.clone());
        let ctx = TokenContext {
            issuer: &self.settings.issuer,
            audience: &audience,
            azp: &self.settings.azp,
            issued_at,
            expires_at,
            jti: &jti,
            sid: &sid,
        };
        let claims = access_claims(
            user,
            &organizations,
            &attributes,
            &ctx,
            &self.settings.mappers,
        );
        let key = self.ring.active();
        let header = json!({ "alg": key.alg.as_str(), "typ": "at+jwt", "kid": key.kid });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
        );
        let token = tokio::task::spawn_blocking(move || {
            key.sign(input.as_bytes())
                .map(|signature| format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
        })
        .await
        .map_err(|e| RealmError::Task(e.to_string()))??;
        let token: Arc<str> = Arc::from(token);
        if default_audience {
            let mut issued = self.issued.lock();
            if issued.len() >= MAX_CACHED {
                issued.retain(|_, c| c.expires_at > now_s);
                if issued.len() >= MAX_CACHED {
                    issued.clear();
                }
            }
            issued.insert(
                credential,
                Cached {
                    principal: user.id,
                    token: token.clone(),
                    issued_ms,
                    expires_at,
                },
            );
        }
        Ok(SharedToken {
            token,
            expires_in: expires_at - now_s,
        })
    }

    /// Forgets the token cached for a source credential that was revoked or deleted.
    pub fn forget_source(&self, credential: CredentialId) {
        self.issued.lock().remove(&credential);
    }

    /// `GET .../protocol/openid-connect/certs`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .ring
            .published(self.clock.now())
            .iter()
            .map(|k| k.jwk().clone())
            .collect();
        json!({ "keys": keys })
    }

    /// `GET /auth/realms/<realm>` in Keycloak's published-realm shape.
    pub fn realm_document(&self) -> Value {
        json!({
            "realm": self.settings.name,
            "public_key": self.ring.active().public_key_base64(),
            "token-service": format!("{}/protocol/openid-connect", self.settings.issuer),
            "account-service": format!("{}/account", self.settings.issuer),
            "tokens-not-before": 0,
        })
    }

    /// `GET .../.well-known/openid-configuration`.
    pub fn discovery(&self) -> Value {
        let base = format!("{}/protocol/openid-connect", self.settings.issuer);
        let algs: Vec<&str> = {
            let mut a: Vec<&str> = self
                .ring
                .published(self.clock.now())
                .iter()
                .map(|k| k.alg.as_str())
                .collect();
            a.dedup();
            a
        };
        json!({
            "issuer": self.settings.issuer,
            "authorization_endpoint": format!("{base}/auth"),
            "token_endpoint": format!("{base}/token"),
            "userinfo_endpoint": format!("{base}/userinfo"),
            "jwks_uri": format!("{base}/certs"),
            "grant_types_supported": ["urn:ietf:params:oauth:grant-type:token-exchange"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algs,
            "token_endpoint_auth_methods_supported": ["none"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "azp", "client_id", "sid", "name", "preferred_username", "email", "given_name", "family_name", "realm_access", "user_groups"],
        })
    }

    pub fn lifetime_secs(&self) -> i64 {
        self.settings.lifetime_secs
    }
}

async fn insert_new_key(
    store: &dyn Store,
    cipher: &KeyCipher,
    alg: Algorithm,
    now: Timestamp,
    actor: &AuditActor,
) -> Result<String, RealmError> {
    let (key, pkcs8) = tokio::task::spawn_blocking(move || keys::generate(alg, now))
        .await
        .map_err(|e| RealmError::Task(e.to_string()))??;
    let stored = StoredKey {
        kid: key.kid.clone(),
        alg: alg.as_str().to_string(),
        sealed_private: cipher.seal(&key.kid, &pkcs8)?,
        created_at: now,
        retired_at: None,
    };
    let audit = AuditEntry {
        target_id: Some(key.kid.clone()),
        ..AuditEntry::new(actor, now, "realm.key-rotated", "signing_key")
    }
    .with_detail("alg", alg.as_str());
    store.insert_signing_key(&stored, now, &audit).await?;
    Ok(key.kid)
}
