//! What an invocation needs to know about a model API (its settings, versions and the hashes of
//! its live access tokens), kept in memory so that a sync call reads no database.
//!
//! Every change that matters to invocation evicts the entry here and tells the other nodes
//! (`Invalidation::ModelApi`); entries also expire after a time-to-live, the bound on a lost
//! message. A load that raced with an eviction is not kept: each eviction bumps an epoch, and
//! an entry is stored only if no eviction happened since its load began.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use crate::ids::ModelApiId;
use crate::invalidation::Invalidation;
use crate::model_apis::{ModelApi, ModelToken, ModelVersion};
use crate::secret::TokenHash;

/// A model API as invocation sees it.
pub struct Serving {
    pub api: ModelApi,
    pub versions: Vec<ModelVersion>,
    /// Live (unrevoked) access tokens: keyed hash → token name.
    tokens: HashMap<TokenHash, String>,
}

impl Serving {
    pub fn new(api: ModelApi, versions: Vec<ModelVersion>, tokens: &[ModelToken]) -> Serving {
        let tokens = tokens
            .iter()
            .filter(|t| t.revoked_at.is_none() && t.model_api_id == api.id)
            .map(|t| (t.hash, t.name.to_string()))
            .collect();
        Serving {
            api,
            versions,
            tokens,
        }
    }

    /// The name of the live token with this hash, compared in constant time once found.
    pub fn token_name(&self, hash: &TokenHash) -> Option<&str> {
        self.tokens
            .get_key_value(hash)
            .filter(|(stored, _)| stored.ct_eq(hash))
            .map(|(_, name)| name.as_str())
    }
}

/// The epoch at which a load began; hand it back to `put`.
#[derive(Clone, Copy, Debug)]
pub struct Epoch(u64);

pub struct ServingCache {
    entries: RwLock<HashMap<ModelApiId, (Arc<Serving>, Instant)>>,
    epoch: AtomicU64,
    ttl: Duration,
    max_entries: usize,
}

impl ServingCache {
    pub fn new(ttl: Duration, max_entries: usize) -> ServingCache {
        ServingCache {
            entries: RwLock::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            ttl,
            max_entries,
        }
    }

    pub fn get(&self, id: ModelApiId) -> Option<Arc<Serving>> {
        let entries = self.entries.read();
        let (serving, at) = entries.get(&id)?;
        (at.elapsed() < self.ttl).then(|| serving.clone())
    }

    /// Call before reading the database for an entry.
    pub fn epoch(&self) -> Epoch {
        Epoch(self.epoch.load(Ordering::Acquire))
    }

    /// Keeps `serving` unless an eviction happened since `loaded`.
    pub fn put(&self, loaded: Epoch, serving: Arc<Serving>) {
        let mut entries = self.entries.write();
        if self.epoch.load(Ordering::Acquire) != loaded.0 {
            return;
        }
        if entries.len() >= self.max_entries {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(serving.api.id, (serving, Instant::now()));
    }

    pub fn evict(&self, id: ModelApiId) {
        let mut entries = self.entries.write();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.remove(&id);
    }

    pub fn clear(&self) {
        let mut entries = self.entries.write();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Applies what another node announced.
    pub fn apply(&self, event: &Invalidation) {
        if let Invalidation::ModelApi(id) = event {
            self.evict(*id);
        }
    }
}

impl Default for ServingCache {
    /// One second: the bound after which a change made on another node is seen even if its
    /// message was lost.
    fn default() -> ServingCache {
        ServingCache::new(Duration::from_secs(1), 100_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ModelTokenId, ProjectId, UserId};
    use crate::model_apis::{Authorization, ModelKind};
    use crate::names::{TokenName, UserName};
    use crate::policy::model_api::Visibility;

    fn api() -> ModelApi {
        ModelApi {
            id: ModelApiId::new(),
            name: "m".into(),
            description: String::new(),
            project_id: ProjectId::new(),
            owner_id: UserId::new(),
            owner_name: UserName::parse("user", "owner").unwrap(),
            collaborators: Vec::new(),
            kind: ModelKind::Sync,
            visibility: Visibility::Private,
            authorization: Authorization::Restricted,
            created_at: chrono::Utc::now(),
        }
    }

    fn token(api: &ModelApi, byte: u8, revoked: bool) -> ModelToken {
        ModelToken {
            id: ModelTokenId::new(),
            model_api_id: api.id,
            name: TokenName::parse("name", &format!("t{byte}")).unwrap(),
            hash: TokenHash([byte; 32]),
            sealed: Vec::new(),
            created_at: chrono::Utc::now(),
            created_by: UserName::parse("user", "owner").unwrap(),
            revoked_at: revoked.then(chrono::Utc::now),
        }
    }

    #[test]
    fn only_live_tokens_of_the_model_api_are_known() {
        let a = api();
        let other = api();
        let serving = Serving::new(
            a.clone(),
            Vec::new(),
            &[
                token(&a, 1, false),
                token(&a, 2, true),
                token(&other, 3, false),
            ],
        );
        assert_eq!(serving.token_name(&TokenHash([1; 32])), Some("t1"));
        assert_eq!(serving.token_name(&TokenHash([2; 32])), None);
        assert_eq!(serving.token_name(&TokenHash([3; 32])), None);
    }

    #[test]
    fn a_load_that_raced_with_an_eviction_is_not_kept() {
        let cache = ServingCache::default();
        let a = api();
        let loaded = cache.epoch();
        cache.evict(a.id); // a revocation committed while the load was reading
        cache.put(loaded, Arc::new(Serving::new(a.clone(), Vec::new(), &[])));
        assert!(cache.get(a.id).is_none());
        let loaded = cache.epoch();
        cache.put(loaded, Arc::new(Serving::new(a.clone(), Vec::new(), &[])));
        assert!(cache.get(a.id).is_some());
        cache.apply(&Invalidation::ModelApi(a.id));
        assert!(cache.get(a.id).is_none());
    }

    #[test]
    fn entries_expire() {
        let cache = ServingCache::new(Duration::ZERO, 10);
        let a = api();
        cache.put(
            cache.epoch(),
            Arc::new(Serving::new(a.clone(), Vec::new(), &[])),
        );
        assert!(cache.get(a.id).is_none());
    }
}
