//! Last-used tracking written behind the request path.
//!
//! A request only hands a `Usage` to a channel, at most once a minute per credential (SPEC
//! section 2) — also across cache entries: an entry re-read from the store (the shared cache's
//! time-to-live is a second) starts from the last report of its credential, not from scratch. A
//! background task writes them every second in short transactions of at most `WRITE_CHUNK`
//! rows, one row per credential, and drains the channel on shutdown so that nothing
//! acknowledged in memory is lost on a clean stop.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use foldhash::fast::RandomState;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use crate::ids::CredentialId;

use crate::cache::CacheEntry;
use crate::model::Timestamp;
use crate::store::{Store, Usage};

/// How often a credential's last use is written at most.
pub const REFRESH_MS: i64 = 60_000;
/// How often the background task writes a batch.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Rows per write transaction, so that no transaction stays open long.
pub const WRITE_CHUNK: usize = 500;
/// Credentials whose last report is remembered apart from the cache, per generation of
/// [`ReportLog`] (so at most twice this many in all).
pub const REMEMBERED: usize = 200_000;

/// When each credential's use was last reported (ms since the epoch), for the last minute or
/// so, in two generations: reports go into `current`; once `current` is `REFRESH_MS` old (or
/// holds `REMEMBERED` reports), it becomes `previous` and the old `previous` is dropped whole.
/// A report in a dropped generation is older than a minute (or crowded out by `REMEMBERED`
/// newer ones), so it held nothing back. Each report and look-up costs O(1) whatever the number
/// of credentials in use — no rescan of the map — and memory stays at most `2 × REMEMBERED`.
#[derive(Default)]
pub struct ReportLog {
    current: HashMap<CredentialId, i64, RandomState>,
    previous: HashMap<CredentialId, i64, RandomState>,
    /// When `current` began (ms since the epoch).
    current_since_ms: i64,
}

impl ReportLog {
    /// The last report of `id` still remembered.
    pub fn get(&self, id: &CredentialId) -> Option<i64> {
        match (self.current.get(id), self.previous.get(id)) {
            (Some(a), Some(b)) => Some(*a.max(b)),
            (a, b) => a.or(b).copied(),
        }
    }

    /// Remembers that `id` was reported at `now_ms`.
    pub fn insert(&mut self, id: CredentialId, now_ms: i64) {
        let aged = now_ms.saturating_sub(self.current_since_ms) >= REFRESH_MS;
        if aged || self.current.len() >= REMEMBERED {
            self.previous = std::mem::take(&mut self.current);
            self.current_since_ms = now_ms;
        }
        self.current.insert(id, now_ms);
    }

    /// How many reports are remembered (both generations, a credential counted in each).
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone)]
pub struct UsageRecorder {
    tx: mpsc::UnboundedSender<Usage>,
    /// When each credential's use was last reported, for about the last minute.
    reported: Arc<Mutex<ReportLog>>,
}

pub struct UsageReceiver {
    rx: mpsc::UnboundedReceiver<Usage>,
}

pub fn usage_channel() -> (UsageRecorder, UsageReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let reported = Arc::new(Mutex::new(ReportLog::default()));
    (UsageRecorder { tx, reported }, UsageReceiver { rx })
}

impl UsageRecorder {
    /// Gives a new cache entry the last report of its credential, so that re-reading a
    /// credential from the store does not report its use again within the minute. Called on
    /// the miss path only (which reads the store anyway).
    pub fn seed(&self, entry: &CacheEntry) {
        if let Some(at) = self.reported.lock().get(&entry.credential.id) {
            entry.usage_reported_ms.fetch_max(at, Ordering::AcqRel);
        }
    }

    /// Reports a use if this entry has not reported one in the last minute.
    /// The address is written as text only for a use that is reported (issue #16).
    pub fn record(&self, entry: &CacheEntry, now: Timestamp, ip: Option<std::net::IpAddr>) {
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
            self.reported.lock().insert(entry.credential.id, now_ms);
            // A closed channel means the server is stopping; nothing else can be done.
            let _ = self.tx.send(Usage {
                credential_id: entry.credential.id,
                at: now,
                ip: ip.map(|ip| ip.to_string()),
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

/// Writes the latest use of each credential in the batch, `WRITE_CHUNK` rows a transaction.
async fn write(store: &dyn Store, batch: &mut Vec<Usage>) {
    if batch.is_empty() {
        return;
    }
    let rows = latest_per_credential(std::mem::take(batch));
    for chunk in rows.chunks(WRITE_CHUNK) {
        if let Err(error) = store.record_usage(chunk).await {
            tracing::warn!(%error, count = chunk.len(), "could not record credential usage");
        }
    }
}

/// One row per credential: its latest use.
fn latest_per_credential(batch: Vec<Usage>) -> Vec<Usage> {
    let mut latest: HashMap<CredentialId, Usage, RandomState> = HashMap::default();
    for usage in batch {
        match latest.get(&usage.credential_id) {
            Some(known) if known.at >= usage.at => {}
            _ => {
                latest.insert(usage.credential_id, usage);
            }
        }
    }
    latest.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: CredentialId) -> CacheEntry {
        crate::cache::test_entry(crate::ids::UserId::new(), id)
    }

    #[test]
    fn a_credential_re_read_into_a_new_entry_is_not_reported_again_within_the_minute() {
        let (recorder, mut receiver) = usage_channel();
        let id = CredentialId::new();
        let now = chrono::Utc::now();
        let first = entry(id);
        recorder.seed(&first);
        recorder.record(&first, now, None);
        // The shared cache's entry expired after a second and was read again.
        for second in 1..20 {
            let again = entry(id);
            recorder.seed(&again);
            recorder.record(&again, now + chrono::Duration::seconds(second), None);
        }
        let mut reports = Vec::new();
        while let Ok(usage) = receiver.rx.try_recv() {
            reports.push(usage);
        }
        assert_eq!(reports.len(), 1, "reported {} times in 20 s", reports.len());
        // After the minute, the next use is reported.
        let later = entry(id);
        recorder.seed(&later);
        recorder.record(&later, now + chrono::Duration::seconds(61), None);
        assert!(receiver.rx.try_recv().is_ok());
    }

    #[test]
    fn the_report_log_remembers_the_last_minute_and_stays_bounded() {
        let mut log = ReportLog::default();
        let t = 1_000_000_000;
        let early = CredentialId::new();
        log.insert(early, t);
        // Reports of the next 59 s stay with it.
        let ids: Vec<_> = (0..100).map(|_| CredentialId::new()).collect();
        for (i, id) in ids.iter().enumerate() {
            log.insert(*id, t + i as i64 * 590);
        }
        assert_eq!(log.get(&early), Some(t));
        // A minute on, a new generation starts; the last one is still read.
        let late = CredentialId::new();
        log.insert(late, t + REFRESH_MS);
        assert_eq!(log.get(&early), Some(t));
        assert_eq!(log.get(&late), Some(t + REFRESH_MS));
        // Two minutes on, the first minute's reports are gone, the second's remain.
        log.insert(CredentialId::new(), t + 2 * REFRESH_MS);
        assert_eq!(log.get(&early), None);
        assert_eq!(log.get(&late), Some(t + REFRESH_MS));
        // A later report of the same credential wins.
        log.insert(late, t + 2 * REFRESH_MS + 5);
        assert_eq!(log.get(&late), Some(t + 2 * REFRESH_MS + 5));
    }

    #[test]
    fn more_credentials_in_a_minute_than_remembered_keep_memory_at_two_generations() {
        let mut log = ReportLog::default();
        let t = 1_000_000_000;
        let first = CredentialId::new();
        log.insert(first, t);
        for _ in 0..(2 * REMEMBERED + 10) {
            log.insert(CredentialId::new(), t + 1);
        }
        assert!(log.len() <= 2 * REMEMBERED, "{} remembered", log.len());
        assert_eq!(
            log.get(&first),
            None,
            "the oldest report was not crowded out"
        );
    }

    #[test]
    fn a_batch_writes_one_row_per_credential_with_its_latest_use() {
        let (a, b) = (CredentialId::new(), CredentialId::new());
        let t = chrono::Utc::now();
        let usage = |id, secs| Usage {
            credential_id: id,
            at: t + chrono::Duration::seconds(secs),
            ip: None,
        };
        let rows = latest_per_credential(vec![usage(a, 1), usage(b, 5), usage(a, 3), usage(a, 2)]);
        assert_eq!(rows.len(), 2);
        let of_a = rows.iter().find(|u| u.credential_id == a).unwrap();
        assert_eq!(of_a.at, t + chrono::Duration::seconds(3));
    }
}
