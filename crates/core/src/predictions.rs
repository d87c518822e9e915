//! Async predictions: requests to an async model API, stored durably, claimed by workers under
//! a lease, retried with backoff until they succeed, fail for good or pass their deadline.
//!
//! A claim increments `attempts`; a worker's outcome is applied only while the prediction is
//! still `running` with the attempt it claimed, so a worker whose lease ran out (and whose
//! prediction another worker took over) cannot overwrite the newer attempt.

use std::time::Duration;

use crate::ids::{ModelApiId, PredictionId};
use crate::model::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PredictionStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl PredictionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PredictionStatus::Queued => "queued",
            PredictionStatus::Running => "running",
            PredictionStatus::Succeeded => "succeeded",
            PredictionStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<PredictionStatus> {
        match raw {
            "queued" => Some(PredictionStatus::Queued),
            "running" => Some(PredictionStatus::Running),
            "succeeded" => Some(PredictionStatus::Succeeded),
            "failed" => Some(PredictionStatus::Failed),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub id: PredictionId,
    pub model_api_id: ModelApiId,
    /// The version active when the request was accepted, and its model server.
    pub version: i64,
    pub upstream_url: String,
    /// The request body as received (JSON text).
    pub input: String,
    pub status: PredictionStatus,
    /// Attempts claimed so far.
    pub attempts: u32,
    /// The model's answer (JSON text) once succeeded.
    pub result: Option<String>,
    /// Why attempts failed, oldest first.
    pub errors: Vec<String>,
    pub token_name: Option<String>,
    pub created_at: Timestamp,
    /// After this, no attempt starts and the prediction fails.
    pub deadline_at: Timestamp,
    pub next_attempt_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Succeeded {
        result: String,
    },
    /// Failed for good (the model refused the input, or attempts or time ran out).
    Failed {
        error: String,
    },
    /// Failed this time; try again at `at`.
    Retry {
        error: String,
        at: Timestamp,
    },
}

/// The longest wait between two attempts, however many came before.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);

/// How async predictions are run.
#[derive(Clone, Debug)]
pub struct PredictionPolicy {
    /// Predictions running at once on one node.
    pub workers: usize,
    /// Attempts before a prediction fails.
    pub max_attempts: u32,
    /// How long one attempt may take; a claim's lease lasts this plus a margin.
    pub attempt_timeout: Duration,
    /// From acceptance to the last possible start of an attempt.
    pub deadline: Duration,
    /// The wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// How often idle workers look for work queued by other nodes.
    pub poll: Duration,
}

impl Default for PredictionPolicy {
    fn default() -> PredictionPolicy {
        PredictionPolicy {
            workers: 8,
            max_attempts: 3,
            attempt_timeout: Duration::from_secs(60),
            deadline: Duration::from_secs(15 * 60),
            backoff: Duration::from_secs(1),
            poll: Duration::from_millis(500),
        }
    }
}

impl PredictionPolicy {
    /// How long a claim is held: a worker that died is replaced after this.
    pub fn lease(&self) -> Duration {
        self.attempt_timeout + Duration::from_secs(5)
    }

    /// What a retryable failure of attempt `attempt` (1-based) at `now` comes to: another try
    /// after the backoff, or a final failure when attempts or the deadline are used up.
    pub fn after_failure(
        &self,
        attempt: u32,
        now: Timestamp,
        deadline: Timestamp,
        error: String,
    ) -> Outcome {
        let wait = self
            .backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(MAX_BACKOFF);
        let at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        if attempt >= self.max_attempts {
            Outcome::Failed {
                error: format!("{error} (gave up after {attempt} attempts)"),
            }
        } else if at > deadline {
            Outcome::Failed {
                error: format!("{error} (the deadline leaves no time for another attempt)"),
            }
        } else {
            Outcome::Retry { error, at }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PredictionPolicy {
        PredictionPolicy {
            max_attempts: 3,
            backoff: Duration::from_secs(1),
            ..PredictionPolicy::default()
        }
    }

    #[test]
    fn failures_back_off_exponentially_then_give_up() {
        let now = chrono::Utc::now();
        let far = now + chrono::Duration::hours(1);
        let first = policy().after_failure(1, now, far, "502".into());
        assert_eq!(
            first,
            Outcome::Retry {
                error: "502".into(),
                at: now + chrono::Duration::seconds(1)
            }
        );
        let second = policy().after_failure(2, now, far, "502".into());
        assert_eq!(
            second,
            Outcome::Retry {
                error: "502".into(),
                at: now + chrono::Duration::seconds(2)
            }
        );
        assert!(matches!(
            policy().after_failure(3, now, far, "502".into()),
            Outcome::Failed { error } if error.contains("after 3 attempts")
        ));
    }

    #[test]
    fn the_wait_between_attempts_is_capped() {
        let now = chrono::Utc::now();
        let far = now + chrono::Duration::days(30);
        let many = PredictionPolicy {
            max_attempts: 100,
            ..policy()
        };
        assert!(matches!(
            many.after_failure(40, now, far, "502".into()),
            Outcome::Retry { at, .. } if at == now + chrono::Duration::from_std(MAX_BACKOFF).unwrap()
        ));
    }

    #[test]
    fn no_retry_is_scheduled_past_the_deadline() {
        let now = chrono::Utc::now();
        let soon = now + chrono::Duration::milliseconds(500);
        assert!(matches!(
            policy().after_failure(1, now, soon, "timeout".into()),
            Outcome::Failed { error } if error.contains("deadline")
        ));
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            PredictionStatus::Queued,
            PredictionStatus::Running,
            PredictionStatus::Succeeded,
            PredictionStatus::Failed,
        ] {
            assert_eq!(PredictionStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(PredictionStatus::parse("done"), None);
    }
}
