//! Whole write transactions retried when they lose a conflict with a concurrent transaction:
//! on PostgreSQL a serialization failure (SQLSTATE 40001) or a deadlock (40P01), on SQLite a busy
//! or locked database (codes 5, 6, 262, 517), all mapped to `StoreError::Transient` by
//! `rows::backend`. Each backend names its [`RetryPolicy`]; [`retried`] runs an operation at most
//! `attempts` times with jittered exponential backoff, and the last conflict becomes
//! `Unavailable` (503). It must only be given operations that start from scratch each time: one
//! whole transaction (see `write_tx!`) or one autocommitted statement, never a part of one.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tessera_core::store::{StoreError, StoreResult};

/// How often and how patiently a backend retries a transaction that lost a conflict.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Runs in all, the first included (at least 1).
    pub attempts: u32,
    /// The longest pause before the second run; doubled before each later run.
    pub base: Duration,
    /// The longest pause before any run.
    pub cap: Duration,
}

impl RetryPolicy {
    /// The pause after failed run `run` (1-based): uniformly random between zero and
    /// `min(cap, base * 2^(run - 1))` ("full jitter"), so that the transactions that collided
    /// do not collide again in step.
    pub fn pause(&self, run: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1 << run.saturating_sub(1).min(16))
            .min(self.cap);
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rand::rng().random_range(0..=micros))
    }
}

/// Runs `op` until it succeeds, fails otherwise than by a conflict, or has run
/// `policy.attempts` times; a conflict on the last run is returned as `Unavailable`.
pub async fn retried<T, F, Fut>(policy: &RetryPolicy, mut op: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut run = 1;
    loop {
        match op().await {
            Err(StoreError::Transient(detail)) if run < policy.attempts => {
                tracing::debug!(run, %detail, "retrying a transaction after a conflict");
                tokio::time::sleep(policy.pause(run)).await;
                run += 1;
            }
            Err(StoreError::Transient(detail)) => return Err(StoreError::Unavailable(detail)),
            other => return other,
        }
    }
}

/// `write_tx!(self, |tx| { ...; Ok(value) })`: one write transaction of the backend `self`,
/// retried whole under `Self::RETRY`. Each run begins a transaction (`self.write_tx()`), runs the
/// block with it as `tx`, and commits when the block gives `Ok`. A `?` or a `return` inside the
/// block ends the run without committing: the transaction rolls back as it is dropped.
///
/// `write_tx!(self, audit = entry, |tx| { ... })`: the same, with the audit row `entry` written
/// in the transaction after the block gives `Ok`, so the change and its record commit together.
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:block) => {
        $crate::retry::retried(&Self::RETRY, || async move {
            let mut $tx = $store.write_tx().await?;
            let done: ::tessera_core::store::StoreResult<_> = $body;
            let done = done?;
            $tx.commit().await.map_err($crate::rows::backend)?;
            Ok(done)
        })
        .await
    };
    ($store:expr, audit = $audit:expr, |$tx:ident| $body:block) => {
        write_tx!($store, |$tx| {
            let done: ::tessera_core::store::StoreResult<_> = $body;
            let done = done?;
            Self::insert_audit(&mut $tx, $audit).await?;
            Ok(done)
        })
    };
}

/// `autocommit!(self, { ... })`: one statement outside a transaction (it commits on its own),
/// retried under `Self::RETRY` like a transaction.
macro_rules! autocommit {
    ($body:block) => {
        $crate::retry::retried(&Self::RETRY, || async move { $body }).await
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    const QUICK: RetryPolicy = RetryPolicy {
        attempts: 3,
        base: Duration::from_micros(50),
        cap: Duration::from_micros(200),
    };

    #[tokio::test]
    async fn a_conflict_on_every_run_is_tried_attempts_times_then_unavailable() {
        let runs = AtomicU32::new(0);
        let outcome: StoreResult<()> = retried(&QUICK, || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Transient("40001".into()))
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), QUICK.attempts);
        assert!(
            matches!(&outcome, Err(StoreError::Unavailable(d)) if d == "40001"),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn a_conflict_then_success_answers_the_success() {
        let runs = AtomicU32::new(0);
        let outcome = retried(&QUICK, || async {
            match runs.fetch_add(1, Ordering::SeqCst) {
                0 => Err(StoreError::Transient("40P01".into())),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(outcome.unwrap(), 1);
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let runs = AtomicU32::new(0);
        let outcome: StoreResult<()> = retried(&QUICK, || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Backend("syntax".into()))
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(
            matches!(outcome, Err(StoreError::Backend(_))),
            "{outcome:?}"
        );
    }

    #[test]
    fn pauses_stay_under_the_doubling_ceiling_and_the_cap() {
        let policy = RetryPolicy {
            attempts: 10,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(35),
        };
        for _ in 0..200 {
            assert!(policy.pause(1) <= Duration::from_millis(10));
            assert!(policy.pause(2) <= Duration::from_millis(20));
            assert!(policy.pause(3) <= Duration::from_millis(35));
            assert!(policy.pause(40) <= Duration::from_millis(35));
        }
    }
}
