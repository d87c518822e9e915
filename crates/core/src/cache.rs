//! The verification cache: keyed hash → credential and principal, for credentials seen recently.
//!
//! The database is the truth; this is a read-through copy. Every change that can make a cached
//! entry wrong (revoke, delete, rotate, role change, deactivation) evicts it before the change
//! is acknowledged, and bumps a sequence number so that a lookup that raced with the change
//! cannot put a stale entry back. Eviction by principal and by hash are the two operations a
//! cross-node notifier needs. It also holds the secrets refused recently (`refused`), so that
//! a principal's change and a lost-notification gap reach both.
//!
//! Memory is bounded: when the cache is full, the oldest-inserted eighth of the entries is
//! evicted (never everything), so that a full cache costs the store a few re-reads, not a
//! stampede of every active credential at once.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use foldhash::fast::RandomState;
use parking_lot::RwLock;

use crate::ids::{CredentialId, UserId};
use crate::model::{CredentialKind, Timestamp, User};
use crate::names::TokenName;
use crate::refused::RefusedSecrets;
use crate::secret::TokenHash;

/// What an authenticated request knows about the credential it came with.
#[derive(Clone, Debug, PartialEq)]
pub struct CredentialRef {
    pub id: CredentialId,
    pub kind: CredentialKind,
    pub name: TokenName,
    pub expires_at: Option<Timestamp>,
}

pub struct CacheEntry {
    pub credential: CredentialRef,
    pub principal: Arc<User>,
    /// When the entry was read from the store (ms since the epoch), for the time-to-live.
    pub(crate) cached_at_ms: i64,
    /// Milliseconds since the epoch of the last use handed to the usage recorder.
    pub(crate) usage_reported_ms: AtomicI64,
}

impl CacheEntry {
    pub fn new(credential: CredentialRef, principal: Arc<User>) -> CacheEntry {
        CacheEntry {
            credential,
            principal,
            cached_at_ms: chrono::Utc::now().timestamp_millis(),
            usage_reported_ms: AtomicI64::new(i64::MIN),
        }
    }
}

/// A cached entry and its insertion number, which tells its slot in `Inner::order` apart from
/// the stale slot of an earlier entry under the same hash.
struct Slot {
    entry: Arc<CacheEntry>,
    born: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<TokenHash, Slot, RandomState>,
    /// Hashes with their insertion number, oldest first. A slot whose number no longer matches
    /// the entry (removed or replaced since) is stale and skipped; stale slots are compacted
    /// away when they outnumber the live ones, so this stays within twice the bound.
    order: VecDeque<(TokenHash, u64)>,
    /// The next insertion number.
    next: u64,
    by_principal: HashMap<UserId, Vec<TokenHash>, RandomState>,
    /// Entries by credential id: a credential's own entry and the access tokens derived from
    /// it (whose `credential.id` is their `sid`), so that revoking it evicts them all.
    by_credential: HashMap<CredentialId, Vec<TokenHash>, RandomState>,
}

impl Inner {
    fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.by_principal.clear();
        self.by_credential.clear();
    }

    /// Removes one entry and its index slots.
    fn remove(&mut self, hash: &TokenHash) {
        let Some(Slot { entry, .. }) = self.entries.remove(hash) else {
            return;
        };
        unlink(&mut self.by_principal, &entry.principal.id, hash);
        unlink(&mut self.by_credential, &entry.credential.id, hash);
    }

    /// Evicts the `count` oldest live entries (fewer if there are fewer).
    fn evict_oldest(&mut self, count: usize) {
        let mut evicted = 0;
        while evicted < count {
            let Some((hash, born)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&hash).is_some_and(|s| s.born == born) {
                self.remove(&hash);
                evicted += 1;
            }
        }
    }

    /// Drops the stale slots of `order` once they outnumber the live entries.
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order
                .retain(|(hash, born)| entries.get(hash).is_some_and(|s| s.born == *born));
        }
    }
}

fn unlink<K: std::hash::Hash + Eq>(
    index: &mut HashMap<K, Vec<TokenHash>, RandomState>,
    key: &K,
    hash: &TokenHash,
) {
    if let Some(list) = index.get_mut(key) {
        list.retain(|h| h != hash);
        if list.is_empty() {
            index.remove(key);
        }
    }
}

#[derive(Default)]
pub struct CredentialCache {
    inner: RwLock<Inner>,
    seq: AtomicU64,
    max_entries: usize,
    /// How long an entry is trusted without re-reading the store; `None` for ever (one node,
    /// where every change passes through this process).
    ttl_ms: Option<i64>,
    refused: RefusedSecrets,
}

impl CredentialCache {
    pub fn new(max_entries: usize) -> CredentialCache {
        CredentialCache {
            max_entries,
            ..CredentialCache::default()
        }
    }

    /// Entries older than `ttl` are treated as absent: the bound on a lost invalidation.
    pub fn with_ttl(mut self, ttl: std::time::Duration) -> CredentialCache {
        self.ttl_ms = i64::try_from(ttl.as_millis()).ok();
        self
    }

    /// The entry for `hash` if it is still within its time-to-live at `now_ms`.
    pub fn get(&self, hash: &TokenHash, now_ms: i64) -> Option<Arc<CacheEntry>> {
        let entry = self.inner.read().entries.get(hash)?.entry.clone();
        match self.ttl_ms {
            Some(ttl) if now_ms - entry.cached_at_ms >= ttl => None,
            _ => Some(entry),
        }
    }

    /// A ticket to take before reading the database for a miss.
    pub fn ticket(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Remembers at most `capacity` refused secrets (default
    /// [`DEFAULT_CAPACITY`](crate::refused::DEFAULT_CAPACITY)).
    pub fn with_refusal_capacity(mut self, capacity: usize) -> CredentialCache {
        self.refused = RefusedSecrets::new(capacity);
        self
    }

    /// Whether `hash` was refused recently and still is at `now_ms` (see `refused`).
    pub fn is_refused(&self, hash: &TokenHash, now_ms: i64) -> bool {
        self.refused.contains(hash, now_ms, self.ttl_ms)
    }

    /// Remembers that the store refused `hash` at `now_ms`. `owner` is set when the refusal
    /// holds only while that principal is deactivated: it is then dropped with the principal's
    /// entries, and not remembered at all if an invalidation happened since `ticket`.
    pub fn remember_refusal(
        &self,
        ticket: u64,
        hash: TokenHash,
        owner: Option<UserId>,
        now_ms: i64,
    ) {
        self.refused.insert_if(hash, owner, now_ms, || {
            owner.is_none() || self.seq.load(Ordering::Acquire) == ticket
        });
    }

    /// Inserts unless an invalidation happened since `ticket` was taken.
    pub fn insert(&self, ticket: u64, hash: TokenHash, entry: Arc<CacheEntry>) {
        let mut inner = self.inner.write();
        if self.seq.load(Ordering::Acquire) != ticket {
            return;
        }
        let bound = self.max_entries.max(1);
        if inner.entries.len() >= bound && !inner.entries.contains_key(&hash) {
            // Full: the oldest eighth makes room; the rest stays served from memory.
            inner.evict_oldest((bound / 8).max(1));
        }
        // A replaced entry leaves the indexes as a whole, so that they never name it twice.
        inner.remove(&hash);
        let principal = entry.principal.id;
        let credential = entry.credential.id;
        let born = inner.next;
        inner.next += 1;
        inner.entries.insert(hash, Slot { entry, born });
        inner.order.push_back((hash, born));
        inner.by_principal.entry(principal).or_default().push(hash);
        inner
            .by_credential
            .entry(credential)
            .or_default()
            .push(hash);
        inner.compact_order();
    }

    /// Applies a change announced by another node (or this one).
    pub fn apply(&self, event: &crate::invalidation::Invalidation) {
        use crate::invalidation::Invalidation;
        match event {
            Invalidation::Credentials(_) => self.evict_hashes(event.hashes()),
            Invalidation::Sources(_) => self.evict_credentials(event.sources()),
            Invalidation::Principal(id) => self.evict_principal(*id),
            Invalidation::Keys | Invalidation::ModelApi(_) => {}
        }
    }

    fn bump(&self) {
        self.seq.fetch_add(1, Ordering::AcqRel);
    }

    pub fn evict_hashes(&self, hashes: impl IntoIterator<Item = TokenHash>) {
        let mut inner = self.inner.write();
        self.bump();
        for hash in hashes {
            inner.remove(&hash);
        }
    }

    /// Evicts credentials by id, with every access token derived from them (SPEC section 2:
    /// derived tokens die with their source).
    pub fn evict_credentials(&self, ids: impl IntoIterator<Item = CredentialId>) {
        let mut inner = self.inner.write();
        self.bump();
        for id in ids {
            if let Some(hashes) = inner.by_credential.remove(&id) {
                for hash in hashes {
                    inner.remove(&hash);
                }
            }
        }
    }

    /// Evicts every credential of a principal, and every refusal that held only while it was
    /// deactivated, for changes to the principal itself.
    pub fn evict_principal(&self, id: UserId) {
        {
            let mut inner = self.inner.write();
            self.bump();
            if let Some(hashes) = inner.by_principal.remove(&id) {
                for hash in hashes {
                    inner.remove(&hash);
                }
            }
        }
        // After the bump: a refusal read before it is either removed here or not remembered.
        self.refused.evict_owner(id);
    }

    /// Forgets every cached credential and every refusal a missed notification could have
    /// ended (after a gap in the notifications). Refusals nothing can end (unknown, revoked,
    /// expired secrets) are kept, so a gap does not send them back to the database.
    pub fn clear(&self) {
        {
            let mut inner = self.inner.write();
            self.bump();
            inner.clear();
        }
        self.refused.forget_owned();
    }

    pub fn len(&self) -> usize {
        self.inner.read().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An entry for an active user `principal` with a PAT `credential`, for the crate's tests.
#[cfg(test)]
pub(crate) fn test_entry(principal: UserId, credential: CredentialId) -> CacheEntry {
    let name = crate::names::UserName::from_trusted("u".into());
    let user = User {
        id: principal,
        ..User::new(
            crate::model::PrincipalKind::User,
            name,
            crate::roles::RoleSet::default(),
            chrono::Utc::now(),
        )
    };
    let credential = CredentialRef {
        id: credential,
        kind: CredentialKind::Pat,
        name: TokenName::from_trusted("t".into()),
        expires_at: None,
    };
    CacheEntry::new(credential, Arc::new(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(principal: UserId) -> Arc<CacheEntry> {
        Arc::new(test_entry(principal, CredentialId::new()))
    }

    #[test]
    fn an_insert_that_raced_with_an_eviction_is_dropped() {
        let cache = CredentialCache::new(10);
        let ticket = cache.ticket();
        cache.evict_hashes([TokenHash([9; 32])]);
        cache.insert(ticket, TokenHash([1; 32]), entry(UserId::new()));
        assert!(cache.get(&TokenHash([1; 32]), 0).is_none());
    }

    #[test]
    fn evicting_a_principal_removes_all_of_its_entries_only() {
        let cache = CredentialCache::new(10);
        let (a, b) = (UserId::new(), UserId::new());
        cache.insert(cache.ticket(), TokenHash([1; 32]), entry(a));
        cache.insert(cache.ticket(), TokenHash([2; 32]), entry(a));
        cache.insert(cache.ticket(), TokenHash([3; 32]), entry(b));
        cache.evict_principal(a);
        assert!(cache.get(&TokenHash([1; 32]), 0).is_none());
        assert!(cache.get(&TokenHash([2; 32]), 0).is_none());
        assert!(cache.get(&TokenHash([3; 32]), 0).is_some());
    }

    #[test]
    fn evicting_a_credential_removes_the_tokens_derived_from_it() {
        let cache = CredentialCache::new(10);
        let user = UserId::new();
        let pat = entry(user);
        let source = pat.credential.id;
        let derived = Arc::new(CacheEntry::new(
            CredentialRef {
                id: source,
                kind: CredentialKind::AccessToken,
                name: TokenName::from_trusted("access-token".into()),
                expires_at: None,
            },
            pat.principal.clone(),
        ));
        cache.insert(cache.ticket(), TokenHash([1; 32]), pat);
        cache.insert(cache.ticket(), TokenHash([2; 32]), derived);
        cache.insert(cache.ticket(), TokenHash([3; 32]), entry(user));
        cache.evict_credentials([source]);
        assert!(cache.get(&TokenHash([1; 32]), 0).is_none());
        assert!(cache.get(&TokenHash([2; 32]), 0).is_none());
        assert!(cache.get(&TokenHash([3; 32]), 0).is_some());
        // The principal index no longer names the evicted entries.
        cache.evict_principal(user);
        assert!(cache.is_empty());
    }

    #[test]
    fn entries_older_than_the_ttl_are_not_served() {
        let cache = CredentialCache::new(10).with_ttl(std::time::Duration::from_secs(1));
        let e = entry(UserId::new());
        let born = e.cached_at_ms;
        cache.insert(cache.ticket(), TokenHash([1; 32]), e);
        assert!(cache.get(&TokenHash([1; 32]), born + 999).is_some());
        assert!(cache.get(&TokenHash([1; 32]), born + 1000).is_none());
    }

    #[test]
    fn a_refusal_tied_to_an_owner_is_not_remembered_if_the_owner_changed_during_the_read() {
        let cache = CredentialCache::new(10);
        let owner = UserId::new();
        let ticket = cache.ticket();
        cache.evict_principal(owner);
        cache.remember_refusal(ticket, TokenHash([1; 32]), Some(owner), 0);
        cache.remember_refusal(ticket, TokenHash([2; 32]), None, 0);
        assert!(!cache.is_refused(&TokenHash([1; 32]), 0));
        assert!(
            cache.is_refused(&TokenHash([2; 32]), 0),
            "a final refusal was lost"
        );
    }

    #[test]
    fn a_change_of_the_owner_forgets_the_refusals_tied_to_it_and_a_gap_all_that_could_end() {
        let cache = CredentialCache::new(10);
        let (owner, other) = (UserId::new(), UserId::new());
        cache.remember_refusal(cache.ticket(), TokenHash([1; 32]), Some(owner), 0);
        cache.remember_refusal(cache.ticket(), TokenHash([2; 32]), Some(other), 0);
        cache.remember_refusal(cache.ticket(), TokenHash([3; 32]), None, 0);
        cache.apply(&crate::invalidation::Invalidation::Principal(owner));
        assert!(!cache.is_refused(&TokenHash([1; 32]), 0));
        assert!(cache.is_refused(&TokenHash([2; 32]), 0));
        assert!(cache.is_refused(&TokenHash([3; 32]), 0));
        cache.clear();
        assert!(!cache.is_refused(&TokenHash([2; 32]), 0));
        assert!(
            cache.is_refused(&TokenHash([3; 32]), 0),
            "a final refusal was forgotten"
        );
    }

    #[test]
    fn refusals_tied_to_an_owner_last_the_time_to_live_when_nodes_share_the_database() {
        let cache = CredentialCache::new(10).with_ttl(std::time::Duration::from_secs(1));
        cache.remember_refusal(cache.ticket(), TokenHash([1; 32]), Some(UserId::new()), 0);
        cache.remember_refusal(cache.ticket(), TokenHash([2; 32]), None, 0);
        assert!(cache.is_refused(&TokenHash([1; 32]), 999));
        assert!(!cache.is_refused(&TokenHash([1; 32]), 1000));
        assert!(cache.is_refused(&TokenHash([2; 32]), 1_000_000));
    }

    #[test]
    fn the_cache_never_grows_past_its_bound() {
        let cache = CredentialCache::new(2);
        for i in 0..5u8 {
            cache.insert(cache.ticket(), TokenHash([i; 32]), entry(UserId::new()));
        }
        assert!(cache.len() <= 2);
    }

    fn hash(i: u32) -> TokenHash {
        let mut bytes = [0; 32];
        bytes[..4].copy_from_slice(&i.to_le_bytes());
        TokenHash(bytes)
    }

    #[test]
    fn a_full_cache_evicts_its_oldest_eighth_and_keeps_the_rest() {
        let cache = CredentialCache::new(800);
        for i in 0..800 {
            cache.insert(cache.ticket(), hash(i), entry(UserId::new()));
        }
        assert_eq!(cache.len(), 800);
        cache.insert(cache.ticket(), hash(800), entry(UserId::new()));
        assert_eq!(cache.len(), 701, "not an eighth evicted");
        assert!((0..100).all(|i| cache.get(&hash(i), 0).is_none()));
        assert!((100..=800).all(|i| cache.get(&hash(i), 0).is_some()));
    }

    #[test]
    fn memory_stays_bounded_under_churn_and_the_indexes_follow_the_entries() {
        let cache = CredentialCache::new(64);
        let users: Vec<UserId> = (0..8).map(|_| UserId::new()).collect();
        for i in 0..20_000u32 {
            let user = users[(i % 8) as usize];
            // Re-inserting, evicting and inserting anew under the same hashes.
            cache.insert(cache.ticket(), hash(i % 100), entry(user));
            if i % 7 == 0 {
                cache.evict_hashes([hash((i + 3) % 100)]);
            }
        }
        let inner = cache.inner.read();
        assert!(inner.entries.len() <= 64);
        assert!(inner.order.len() <= 2 * 64 + 64 + 1);
        let indexed: usize = inner.by_principal.values().map(Vec::len).sum();
        assert_eq!(indexed, inner.entries.len());
        let by_credential: usize = inner.by_credential.values().map(Vec::len).sum();
        assert_eq!(by_credential, inner.entries.len());
    }

    #[test]
    fn an_entry_inserted_again_is_not_evicted_by_its_earlier_slot() {
        let cache = CredentialCache::new(8);
        let user = UserId::new();
        cache.insert(cache.ticket(), hash(0), entry(user));
        cache.evict_hashes([hash(0)]);
        for i in 1..8 {
            cache.insert(cache.ticket(), hash(i), entry(user));
        }
        // hash(0) again: the newest entry now, though its first slot is the oldest.
        cache.insert(cache.ticket(), hash(0), entry(user));
        cache.insert(cache.ticket(), hash(8), entry(user));
        assert!(
            cache.get(&hash(0), 0).is_some(),
            "the new entry was evicted"
        );
        assert!(
            cache.get(&hash(1), 0).is_none(),
            "the oldest live entry stayed"
        );
    }
}
