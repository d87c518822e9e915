//! Cross-node invalidation over PostgreSQL: `pg_notify` to publish, LISTEN to hear.
//!
//! A notification is sent after the change commits and before the change is acknowledged, so a
//! listening node hears of it within milliseconds. When the listening connection drops, the
//! node is told of a gap and clears its caches; the caches' time-to-live bounds what a lost
//! message can cost even if the gap itself goes unseen.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tessera_core::invalidation::{Invalidation, InvalidationBus, Notice};
use tokio::sync::{mpsc, watch};

pub const CHANNEL: &str = "tessera_invalidate";
/// Hashes (or ids) per message: NOTIFY payloads are limited to 8000 bytes.
const HASHES_PER_MESSAGE: usize = 100;

fn payloads(event: &Invalidation) -> Vec<String> {
    let encode = |e: &Invalidation| serde_json::to_string(e).unwrap_or_default();
    match event {
        Invalidation::Credentials(list) if list.len() > HASHES_PER_MESSAGE => list
            .chunks(HASHES_PER_MESSAGE)
            .map(|chunk| encode(&Invalidation::Credentials(chunk.to_vec())))
            .collect(),
        Invalidation::Sources(list) if list.len() > HASHES_PER_MESSAGE => list
            .chunks(HASHES_PER_MESSAGE)
            .map(|chunk| encode(&Invalidation::Sources(chunk.to_vec())))
            .collect(),
        other => vec![encode(other)],
    }
}

/// Publishes over the database's own connections.
pub struct PgBus {
    pool: PgPool,
}

impl PgBus {
    pub fn new(pool: PgPool) -> PgBus {
        PgBus { pool }
    }
}

#[async_trait]
impl InvalidationBus for PgBus {
    async fn publish(&self, event: &Invalidation) {
        for payload in payloads(event) {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(&payload)
                .execute(&self.pool)
                .await;
            if let Err(error) = sent {
                tracing::warn!(%error, "could not notify the other nodes; their caches expire on their own");
            }
        }
    }
}

/// The listening side, to be run by the server for as long as it serves.
pub struct PgNotifications {
    pool: PgPool,
}

impl PgNotifications {
    pub fn new(pool: PgPool) -> PgNotifications {
        PgNotifications { pool }
    }

    /// Forwards every notification to `out` until `stop` turns true, reconnecting as needed and
    /// reporting a `Gap` whenever messages may have been lost.
    pub async fn run(self, out: mpsc::Sender<Notice>, mut stop: watch::Receiver<bool>) {
        loop {
            let listener = tokio::select! {
                l = self.listen() => l,
                _ = stop.wait_for(|s| *s) => return,
            };
            let mut listener = match listener {
                Ok(l) => l,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for invalidations; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500)) => continue,
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            };
            // Whatever happened before this connection listened was not heard.
            if out.send(Notice::Gap).await.is_err() {
                return;
            }
            loop {
                let received = tokio::select! {
                    r = listener.try_recv() => r,
                    _ = stop.wait_for(|s| *s) => return,
                };
                match received {
                    Ok(Some(notification)) => {
                        match serde_json::from_str::<Invalidation>(notification.payload()) {
                            Ok(event) => {
                                if out.send(Notice::Event(event)).await.is_err() {
                                    return;
                                }
                            }
                            Err(error) => {
                                tracing::warn!(%error, "ignoring a malformed invalidation")
                            }
                        }
                    }
                    Ok(None) | Err(_) => {
                        tracing::warn!(
                            "the invalidation listener lost its connection; clearing caches"
                        );
                        if out.send(Notice::Gap).await.is_err() {
                            return;
                        }
                        break;
                    }
                }
            }
        }
    }

    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::secret::TokenHash;

    #[test]
    fn long_lists_are_split_under_the_payload_limit() {
        let event = Invalidation::credentials((0..250u8).map(|i| TokenHash([i; 32])));
        let parts = payloads(&event);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.len() < 8000));
        let back: usize = parts
            .iter()
            .map(|p| {
                serde_json::from_str::<Invalidation>(p)
                    .unwrap()
                    .hashes()
                    .len()
            })
            .sum();
        assert_eq!(back, 250);
    }
}
