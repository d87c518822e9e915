//! Memory of refused well-formed secrets (keyed hash → why it may change), so that a secret
//! refused once is refused again from memory: repeated refusals cost neither the database nor
//! a time that tells an unknown secret from one that once existed (SPEC section 9).
//!
//! It must never hold a secret that could become valid without an invalidation reaching it:
//! unknown, revoked and expired secrets stay refused for ever (secrets are random, revocation
//! is final, expiry is never extended), so they are remembered as they are; a secret refused
//! only because its owner is deactivated is remembered with the owner, dropped when the owner
//! changes, and trusted no longer than the verification cache's time-to-live. Nothing is
//! remembered when the store could not answer. Memory is bounded: when full, the oldest eighth
//! is forgotten, never everything.

use std::collections::{HashMap, VecDeque};

use foldhash::fast::RandomState;
use parking_lot::RwLock;

use crate::ids::UserId;
use crate::secret::TokenHash;

/// How many refused secrets are remembered by default: about 10 MB at the bound.
pub const DEFAULT_CAPACITY: usize = 100_000;

#[derive(Clone, Copy)]
struct Refusal {
    /// Set when the refusal lasts only as long as this principal stays deactivated.
    owner: Option<UserId>,
    /// When it was remembered (ms since the epoch), for the time-to-live of owner refusals.
    at_ms: i64,
}

#[derive(Default)]
struct Inner {
    refusals: HashMap<TokenHash, Refusal, RandomState>,
    /// Hashes in the order they were remembered, oldest first. May still list a hash that was
    /// forgotten since; it never grows past the capacity.
    order: VecDeque<TokenHash>,
    by_owner: HashMap<UserId, Vec<TokenHash>, RandomState>,
}

/// A bounded set of refused keyed hashes. Cheap to query; all methods take `&self`.
pub struct RefusedSecrets {
    inner: RwLock<Inner>,
    capacity: usize,
}

impl Default for RefusedSecrets {
    fn default() -> RefusedSecrets {
        RefusedSecrets::new(DEFAULT_CAPACITY)
    }
}

impl RefusedSecrets {
    /// Remembers at most `capacity` refusals (at least one).
    pub fn new(capacity: usize) -> RefusedSecrets {
        RefusedSecrets {
            inner: RwLock::default(),
            capacity: capacity.max(1),
        }
    }

    /// Whether `hash` was refused and still is at `now_ms`. A refusal tied to an owner counts
    /// for `owner_ttl_ms` only (`None`: until the owner changes).
    pub fn contains(&self, hash: &TokenHash, now_ms: i64, owner_ttl_ms: Option<i64>) -> bool {
        match self.inner.read().refusals.get(hash) {
            None => false,
            Some(Refusal { owner: None, .. }) => true,
            Some(Refusal { at_ms, .. }) => owner_ttl_ms.is_none_or(|ttl| now_ms - at_ms < ttl),
        }
    }

    /// Remembers that `hash` was refused at `now_ms`; `owner` when the refusal holds only while
    /// that principal is deactivated. When full, forgets the oldest eighth first.
    pub fn insert(&self, hash: TokenHash, owner: Option<UserId>, now_ms: i64) {
        self.insert_if(hash, owner, now_ms, || true);
    }

    /// As [`insert`](Self::insert), if `still_current()` holds under the lock (the caller's
    /// check that no invalidation raced with the read that led to the refusal).
    pub fn insert_if(
        &self,
        hash: TokenHash,
        owner: Option<UserId>,
        now_ms: i64,
        still_current: impl FnOnce() -> bool,
    ) {
        let mut inner = self.inner.write();
        if !still_current() {
            return;
        }
        if inner.order.len() >= self.capacity {
            let oldest = (self.capacity / 8).max(1);
            for _ in 0..oldest {
                let Some(old) = inner.order.pop_front() else {
                    break;
                };
                if let Some(Refusal {
                    owner: Some(id), ..
                }) = inner.refusals.remove(&old)
                {
                    forget_owned(&mut inner, id, &old);
                }
            }
        }
        let refusal = Refusal {
            owner,
            at_ms: now_ms,
        };
        match inner.refusals.insert(hash, refusal) {
            None => inner.order.push_back(hash),
            Some(Refusal {
                owner: Some(id), ..
            }) => forget_owned(&mut inner, id, &hash),
            Some(_) => {}
        }
        if let Some(id) = owner {
            inner.by_owner.entry(id).or_default().push(hash);
        }
    }

    /// Forgets the refusals that held only while `id` was deactivated.
    pub fn evict_owner(&self, id: UserId) {
        let mut inner = self.inner.write();
        if let Some(hashes) = inner.by_owner.remove(&id) {
            for hash in hashes {
                inner.refusals.remove(&hash);
            }
        }
    }

    /// Forgets every refusal tied to an owner (after a gap in the notifications, any owner may
    /// have changed); keeps those nothing can end.
    pub fn forget_owned(&self) {
        let mut inner = self.inner.write();
        inner.refusals.retain(|_, r| r.owner.is_none());
        inner.by_owner.clear();
    }

    /// Forgets every refusal.
    pub fn clear(&self) {
        let mut inner = self.inner.write();
        inner.refusals.clear();
        inner.order.clear();
        inner.by_owner.clear();
    }

    /// How many refusals are remembered.
    pub fn len(&self) -> usize {
        self.inner.read().refusals.len()
    }

    /// Whether no refusal is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn forget_owned(inner: &mut Inner, id: UserId, hash: &TokenHash) {
    if let Some(list) = inner.by_owner.get_mut(&id) {
        list.retain(|h| h != hash);
        if list.is_empty() {
            inner.by_owner.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u32) -> TokenHash {
        let mut bytes = [0; 32];
        bytes[..4].copy_from_slice(&i.to_le_bytes());
        TokenHash(bytes)
    }

    #[test]
    fn a_remembered_refusal_is_found_and_others_are_not() {
        let refused = RefusedSecrets::new(10);
        refused.insert(hash(1), None, 0);
        assert!(refused.contains(&hash(1), i64::MAX, Some(1)));
        assert!(!refused.contains(&hash(2), 0, None));
    }

    #[test]
    fn when_full_the_oldest_eighth_is_forgotten_and_the_rest_kept() {
        let refused = RefusedSecrets::new(64);
        for i in 0..64 {
            refused.insert(hash(i), None, 0);
        }
        assert_eq!(refused.len(), 64);
        refused.insert(hash(64), None, 0);
        assert_eq!(refused.len(), 57, "not an eighth forgotten");
        assert!((0..8).all(|i| !refused.contains(&hash(i), 0, None)));
        assert!((8..=64).all(|i| refused.contains(&hash(i), 0, None)));
    }

    #[test]
    fn memory_stays_bounded_whatever_is_forgotten_in_between() {
        let refused = RefusedSecrets::new(16);
        let owner = UserId::new();
        for i in 0..10_000 {
            refused.insert(hash(i % 40), Some(owner), 0);
            if i % 3 == 0 {
                refused.evict_owner(owner);
            }
        }
        let inner = refused.inner.read();
        assert!(inner.refusals.len() <= 16);
        assert!(inner.order.len() <= 16);
        assert!(inner.by_owner.values().map(Vec::len).sum::<usize>() <= 16);
    }

    #[test]
    fn a_refusal_for_a_deactivated_owner_is_forgotten_when_the_owner_changes() {
        let refused = RefusedSecrets::new(10);
        let (owner, other) = (UserId::new(), UserId::new());
        refused.insert(hash(1), Some(owner), 0);
        refused.insert(hash(2), Some(other), 0);
        refused.insert(hash(3), None, 0);
        refused.evict_owner(owner);
        assert!(!refused.contains(&hash(1), 0, None));
        assert!(refused.contains(&hash(2), 0, None));
        assert!(refused.contains(&hash(3), 0, None));
    }

    #[test]
    fn forgetting_owned_refusals_keeps_the_final_ones() {
        let refused = RefusedSecrets::new(10);
        refused.insert(hash(1), Some(UserId::new()), 0);
        refused.insert(hash(2), None, 0);
        refused.forget_owned();
        assert!(!refused.contains(&hash(1), 0, None));
        assert!(refused.contains(&hash(2), 0, None));
    }

    #[test]
    fn a_refusal_for_a_deactivated_owner_lasts_only_the_time_to_live() {
        let refused = RefusedSecrets::new(10);
        refused.insert(hash(1), Some(UserId::new()), 1_000);
        refused.insert(hash(2), None, 1_000);
        assert!(refused.contains(&hash(1), 1_999, Some(1_000)));
        assert!(!refused.contains(&hash(1), 2_000, Some(1_000)));
        assert!(refused.contains(&hash(2), 1_000_000, Some(1_000)));
    }

    #[test]
    fn nothing_is_remembered_when_the_caller_says_the_read_is_stale() {
        let refused = RefusedSecrets::new(10);
        refused.insert_if(hash(1), None, 0, || false);
        assert!(refused.is_empty());
    }
}
