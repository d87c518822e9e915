//! Invocation logs written behind the request path: an invocation only hands its log entry to a
//! bounded channel; a background task writes whatever has gathered in one transaction, so the
//! number of writes stays small however many invocations arrive, and drains the channel on
//! shutdown. When the database falls so far behind that the channel is full, entries are
//! dropped and counted rather than slowing invocations down or growing memory without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, watch};

use crate::model_apis::Invocation;
use crate::store::Store;

/// Entries waiting for the database at most.
pub const CAPACITY: usize = 65_536;
/// Entries written in one transaction at most.
const BATCH: usize = 4096;

#[derive(Clone)]
pub struct InvocationRecorder {
    tx: mpsc::Sender<Invocation>,
    dropped: Arc<AtomicU64>,
}

pub struct InvocationWriter {
    rx: mpsc::Receiver<Invocation>,
}

pub fn invocation_channel(capacity: usize) -> (InvocationRecorder, InvocationWriter) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        InvocationRecorder {
            tx,
            dropped: Arc::default(),
        },
        InvocationWriter { rx },
    )
}

impl InvocationRecorder {
    /// Queues an entry; never waits.
    pub fn record(&self, invocation: Invocation) {
        if self.tx.try_send(invocation).is_err() {
            let before = self.dropped.fetch_add(1, Ordering::Relaxed);
            if before.is_power_of_two() || before == 0 {
                tracing::warn!(
                    dropped = before + 1,
                    "invocation logs are arriving faster than the database takes them; dropping"
                );
            }
        }
    }

    /// Entries dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl InvocationWriter {
    /// Writes batches until `stop` turns true (or every recorder is gone), then writes what is
    /// left in the channel.
    pub async fn run(mut self, store: Arc<dyn Store>, mut stop: watch::Receiver<bool>) {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let received = tokio::select! {
                received = self.rx.recv_many(&mut batch, BATCH) => received,
                _ = stop.wait_for(|s| *s) => 0,
            };
            if received == 0 {
                break;
            }
            write(&*store, &mut batch).await;
        }
        self.rx.close();
        while self.rx.recv_many(&mut batch, BATCH).await > 0 {
            write(&*store, &mut batch).await;
        }
    }
}

async fn write(store: &dyn Store, batch: &mut Vec<Invocation>) {
    if let Err(error) = store.record_invocations(batch).await {
        tracing::warn!(%error, count = batch.len(), "could not write invocation logs");
    }
    batch.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ModelApiId;

    fn entry() -> Invocation {
        Invocation {
            model_api_id: ModelApiId::new(),
            at: chrono::Utc::now(),
            version: Some(1),
            status: 200,
            latency_ms: 1,
            token_name: None,
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (recorder, _writer) = invocation_channel(2);
        for _ in 0..5 {
            recorder.record(entry());
        }
        assert_eq!(recorder.dropped(), 3);
    }
}
