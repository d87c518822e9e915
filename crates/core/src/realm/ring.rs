//! The key ring: the active signing key and the retired keys still published, loaded from the
//! store and swapped atomically on rotation or reload.

use std::sync::Arc;

use chrono::Duration;
use parking_lot::RwLock;

use super::keys::{Algorithm, KeyCipher, KeyError, SigningKey, StoredKey};
use crate::model::Timestamp;

pub struct RingState {
    pub active: Arc<SigningKey>,
    /// Every loaded key, the active one included, newest first.
    pub keys: Vec<Arc<SigningKey>>,
}

pub struct KeyRing {
    state: RwLock<Arc<RingState>>,
    /// How long a retired key stays published: the longest token lifetime plus leeway.
    publish_retired_for: Duration,
}

impl KeyRing {
    pub fn new(state: RingState, publish_retired_for: Duration) -> KeyRing {
        KeyRing {
            state: RwLock::new(Arc::new(state)),
            publish_retired_for,
        }
    }

    pub fn snapshot(&self) -> Arc<RingState> {
        self.state.read().clone()
    }

    pub fn replace(&self, state: RingState) {
        *self.state.write() = Arc::new(state);
    }

    fn is_published(&self, key: &SigningKey, now: Timestamp) -> bool {
        key.retired_at
            .is_none_or(|at| at + self.publish_retired_for > now)
    }

    /// The keys in the JWKS: the active one and retired ones whose tokens may still be live.
    pub fn published(&self, now: Timestamp) -> Vec<Arc<SigningKey>> {
        self.snapshot()
            .keys
            .iter()
            .filter(|k| self.is_published(k, now))
            .cloned()
            .collect()
    }

    /// A published key by `kid`; Tessera's keys only.
    pub fn find(&self, kid: &str, now: Timestamp) -> Option<Arc<SigningKey>> {
        self.snapshot()
            .keys
            .iter()
            .find(|k| k.kid == kid && self.is_published(k, now))
            .cloned()
    }

    pub fn active(&self) -> Arc<SigningKey> {
        self.snapshot().active.clone()
    }
}

/// Decrypts stored keys into a ring state; `None` when no key is active.
pub fn load_state(stored: &[StoredKey], cipher: &KeyCipher) -> Result<Option<RingState>, KeyError> {
    let mut keys = Vec::with_capacity(stored.len());
    for row in stored {
        let alg =
            Algorithm::parse(&row.alg).ok_or_else(|| KeyError::Unreadable(row.kid.clone()))?;
        let pkcs8 = cipher.open(&row.kid, &row.sealed_private)?;
        keys.push(Arc::new(SigningKey::from_pkcs8(
            row.kid.clone(),
            alg,
            &pkcs8,
            row.created_at,
            row.retired_at,
        )?));
    }
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    Ok(keys
        .iter()
        .find(|k| k.retired_at.is_none())
        .cloned()
        .map(|active| RingState { active, keys }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realm::keys::generate;

    #[test]
    fn a_retired_key_is_published_until_its_tokens_can_have_expired_then_leaves() {
        let now = chrono::Utc::now();
        let (active, _) = generate(Algorithm::EdDSA, now).unwrap();
        let (mut old, _) = generate(Algorithm::EdDSA, now - Duration::hours(1)).unwrap();
        old.retired_at = Some(now - Duration::seconds(200));
        let (old_kid, active_kid) = (old.kid.clone(), active.kid.clone());
        let active = Arc::new(active);
        let ring = KeyRing::new(
            RingState {
                active: active.clone(),
                keys: vec![active, Arc::new(old)],
            },
            Duration::seconds(330),
        );
        assert!(ring.find(&old_kid, now).is_some());
        assert_eq!(ring.published(now).len(), 2);
        let later = now + Duration::seconds(131);
        assert!(
            ring.find(&old_kid, later).is_none(),
            "still published after its window"
        );
        assert_eq!(ring.published(later).len(), 1);
        assert!(ring.find(&active_kid, later).is_some());
    }
}
