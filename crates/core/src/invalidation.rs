//! Cross-node cache invalidation: what a node tells the others after a change it committed.
//!
//! A single node needs no bus (`LocalOnly`); nodes sharing PostgreSQL publish through it. Lost
//! messages are covered by the cache's time-to-live, so the bus only makes propagation fast.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ids::{CredentialId, ModelApiId, UserId};
use crate::secret::TokenHash;

/// One change other nodes must apply to their caches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Invalidation {
    /// These credentials were revoked, deleted or rotated (hex keyed hashes).
    Credentials(Vec<String>),
    /// The same credentials by id, so that access tokens derived from them (whose `sid` names
    /// them) are evicted too, also on nodes that never saw the credential itself.
    Sources(Vec<String>),
    /// The principal changed (roles, status, profile, memberships): drop all it has cached.
    Principal(UserId),
    /// The signing keys changed: reload them.
    Keys,
    /// A model API's settings, versions or access tokens changed: reload what invocation knows.
    ModelApi(ModelApiId),
}

impl Invalidation {
    pub fn credentials(hashes: impl IntoIterator<Item = TokenHash>) -> Invalidation {
        Invalidation::Credentials(hashes.into_iter().map(|h| h.to_hex()).collect())
    }

    pub fn sources(&self) -> Vec<CredentialId> {
        match self {
            Invalidation::Sources(list) => list
                .iter()
                .filter_map(|id| CredentialId::parse(id))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The hashes of a `Credentials` message; malformed entries are skipped.
    pub fn hashes(&self) -> Vec<TokenHash> {
        match self {
            Invalidation::Credentials(list) => list
                .iter()
                .filter_map(|h| hex::decode(h).ok())
                .filter_map(|b| TokenHash::from_slice(&b))
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[async_trait]
pub trait InvalidationBus: Send + Sync {
    /// Tells the other nodes; errors are logged by the implementation (the time-to-live of
    /// cached entries bounds what a lost message can cost).
    async fn publish(&self, event: &Invalidation);
}

/// What a node hears from the bus.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    Event(Invalidation),
    /// Messages may have been missed (the listening connection dropped): drop every cache.
    Gap,
}

/// A single node: nothing to tell.
pub struct LocalOnly;

#[async_trait]
impl InvalidationBus for LocalOnly {
    async fn publish(&self, _event: &Invalidation) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_json() {
        let hash = TokenHash([7; 32]);
        let event = Invalidation::credentials([hash]);
        let text = serde_json::to_string(&event).unwrap();
        let back: Invalidation = serde_json::from_str(&text).unwrap();
        assert_eq!(back.hashes(), vec![hash]);
        let principal = Invalidation::Principal(UserId::new());
        assert_eq!(
            serde_json::from_str::<Invalidation>(&serde_json::to_string(&principal).unwrap())
                .unwrap(),
            principal
        );
    }
}
