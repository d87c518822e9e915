//! Last-used tracking written behind the request path.
//!
//! A request only hands a `Usage` to an unbounded channel, at most once a minute per cached
//! credential; a background task batches them into the store every second, and drains the
//! channel on shutdown so that nothing acknowledged in memory is lost on a clean stop.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::cache::CacheEntry;
use crate::model::Timestamp;
use crate::store::{Store, Usage};

/// How often a credential's last use is written at most.
pub const REFRESH_MS: i64 = 60_000;
/// How often the background task writes a batch.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct UsageRecorder {
    tx: mpsc::UnboundedSender<Usage>,
}

pub struct UsageReceiver {
    rx: mpsc::UnboundedReceiver<Usage>,
}

pub fn usage_channel() -> (UsageRecorder, UsageReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    (UsageRecorder { tx }, UsageReceiver { rx })
}

impl UsageRecorder {
    /// Reports a use if this entry has not reported one in the last minute.
    pub fn record(&self, entry: &CacheEntry, now: Timestamp, ip: Option<String>) {
        if entry.credential.kind == crate::model::CredentialKind::AccessToken {
            return;
        }
        let now_ms = now.timestamp_millis();
        let last = entry.usage_reported_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < REFRESH_MS {
            return;
        }
        if entry
            .usage_reported_ms
            .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            // A closed channel means the server is stopping; nothing else can be done.
            let _ = self.tx.send(Usage {
                credential_id: entry.credential.id,
                at: now,
                ip,
            });
        }
    }
}

impl UsageReceiver {
    /// Writes batches until `stop` turns true (or every recorder is dropped), then writes what
    /// is left in the channel.
    pub async fn run(mut self, store: Arc<dyn Store>, mut stop: watch::Receiver<bool>) {
        let mut batch = Vec::new();
        loop {
            let received = tokio::select! {
                received = self.rx.recv_many(&mut batch, 4096) => received,
                _ = stop.wait_for(|s| *s) => 0,
            };
            if received == 0 {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            while let Ok(more) = self.rx.try_recv() {
                batch.push(more);
            }
            write(&*store, &mut batch).await;
        }
        while let Ok(more) = self.rx.try_recv() {
            batch.push(more);
        }
        write(&*store, &mut batch).await;
    }
}

async fn write(store: &dyn Store, batch: &mut Vec<Usage>) {
    if batch.is_empty() {
        return;
    }
    if let Err(error) = store.record_usage(batch).await {
        tracing::warn!(%error, count = batch.len(), "could not record credential usage");
    }
    batch.clear();
}
