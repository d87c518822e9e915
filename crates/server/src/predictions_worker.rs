//! The async prediction workers of one node: claim due predictions from the durable queue (up
//! to the free worker slots), call the version's model server, and settle each attempt as
//! succeeded, failed or retried with backoff. Any node may run any prediction; a claim is a
//! lease, so a prediction whose node died is taken over once the lease runs out. Model servers
//! are reached only through `model_client`: a prediction whose version the allow-list does not
//! allow fails at once, never connected to.

use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::Value;
use tessera_core::model_apis::Invocation;
use tessera_core::predictions::{Outcome, Prediction};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::model_client::CallError;
use crate::state::AppState;

/// The largest model answer kept as a result.
const MAX_RESULT_BYTES: usize = 16 * 1024 * 1024;

/// Runs until `stop`; then interrupts running attempts, which go back to the queue at once.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let workers = state.predictions.workers.max(1);
    let mut running = JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        let free = workers.saturating_sub(running.len());
        if free > 0 {
            for prediction in claim(&state, free).await {
                running.spawn(attempt(state.clone(), prediction, stop.clone()));
            }
        }
        tokio::select! {
            () = state.prediction_queue.notified() => {}
            () = tokio::time::sleep(state.predictions.poll) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    while running.join_next().await.is_some() {}
}

async fn claim(state: &AppState, free: usize) -> Vec<Prediction> {
    let now = Utc::now();
    let lease =
        chrono::Duration::from_std(state.predictions.lease()).unwrap_or(chrono::Duration::MAX);
    let limit = u32::try_from(free).unwrap_or(u32::MAX);
    match state.store.claim_predictions(now, now + lease, limit).await {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::warn!(%error, "could not claim async predictions");
            Vec::new()
        }
    }
}

/// Why one call of the model server did not give a result.
enum Failure {
    /// Worth another attempt: the model server was unreachable, overloaded or too slow.
    Transient { error: String, status: u16 },
    /// Another attempt would fail the same way: the model refused the input.
    Final { error: String, status: u16 },
}

/// Runs one claimed attempt and settles it.
async fn attempt(state: AppState, prediction: Prediction, mut stop: watch::Receiver<bool>) {
    let policy = &state.predictions;
    let outcome = if prediction.attempts > policy.max_attempts {
        // The previous attempt's node died or stopped while running it.
        Outcome::Failed {
            error: format!(
                "gave up after {} attempts (the last one was interrupted)",
                policy.max_attempts
            ),
        }
    } else if Utc::now() > prediction.deadline_at {
        Outcome::Failed {
            error: "the deadline passed before the prediction could run".into(),
        }
    } else {
        let started = Instant::now();
        let called = tokio::select! {
            called = call(&state, &prediction) => Some(called),
            _ = stop.wait_for(|s| *s) => None,
        };
        let latency = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (outcome, status) = match called {
            None => (
                Outcome::Retry {
                    error: "interrupted: the node running it shut down".into(),
                    at: Utc::now(),
                },
                None,
            ),
            Some(Ok(result)) => (Outcome::Succeeded { result }, Some(200)),
            Some(Err(Failure::Final { error, status })) => {
                (Outcome::Failed { error }, Some(status))
            }
            Some(Err(Failure::Transient { error, status })) => (
                policy.after_failure(
                    prediction.attempts,
                    Utc::now(),
                    prediction.deadline_at,
                    error,
                ),
                Some(status),
            ),
        };
        if let Some(status) = status {
            state.model_serving.record(Invocation {
                model_api_id: prediction.model_api_id,
                at: Utc::now(),
                version: Some(prediction.version),
                status,
                latency_ms: latency,
                token_name: prediction.token_name.clone(),
            });
        }
        outcome
    };
    match state
        .store
        .settle_prediction(prediction.id, prediction.attempts, &outcome, Utc::now())
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::info!(
            prediction = %prediction.id,
            "an attempt outlived its lease; the newer attempt stands"
        ),
        Err(error) => tracing::warn!(
            prediction = %prediction.id,
            %error,
            "could not settle an attempt; it runs again when its lease ends"
        ),
    }
}

/// Posts the request to the model server; the model's JSON answer on success.
async fn call(state: &AppState, prediction: &Prediction) -> Result<String, Failure> {
    let timeout = state.predictions.attempt_timeout;
    let answer = async {
        let response = state
            .model_servers
            .post_json(
                &prediction.upstream_url,
                Body::from(prediction.input.clone()),
            )
            .await
            .map_err(|e| match e {
                CallError::NotAllowed | CallError::AddressNotAllowed => Failure::Final {
                    error: e.to_string(),
                    status: 502,
                },
                CallError::Unreachable => Failure::Transient {
                    error: e.to_string(),
                    status: 502,
                },
            })?;
        let status = response.status();
        let body = to_bytes(Body::new(response.into_body()), MAX_RESULT_BYTES)
            .await
            .map_err(|_| Failure::Transient {
                error: "the model server's answer broke off or is too large".into(),
                status: 502,
            })?;
        classify(status, &body)
    };
    match tokio::time::timeout(timeout, answer).await {
        Ok(result) => result,
        Err(_) => Err(Failure::Transient {
            error: format!(
                "the model server did not answer within {} s",
                timeout.as_secs()
            ),
            status: 504,
        }),
    }
}

fn classify(status: StatusCode, body: &[u8]) -> Result<String, Failure> {
    if status.is_success() {
        return match serde_json::from_slice::<Value>(body) {
            Ok(value) => Ok(value.to_string()),
            Err(_) => Err(Failure::Final {
                error: "the model server's answer is not JSON".into(),
                status: 502,
            }),
        };
    }
    let detail = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    let error = format!("the model server answered {status}: {}", detail.trim());
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        Err(Failure::Transient { error, status: 502 })
    } else {
        Err(Failure::Final {
            error,
            status: status.as_u16(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_into_results_retries_and_refusals() {
        assert!(matches!(classify(StatusCode::OK, br#"{"a":1}"#), Ok(r) if r == r#"{"a":1}"#));
        assert!(matches!(
            classify(StatusCode::OK, b"not json"),
            Err(Failure::Final { .. })
        ));
        assert!(matches!(
            classify(StatusCode::SERVICE_UNAVAILABLE, b"busy"),
            Err(Failure::Transient { error, .. }) if error.contains("503") && error.contains("busy")
        ));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, b""),
            Err(Failure::Transient { .. })
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, b"bad input"),
            Err(Failure::Final { status: 400, .. })
        ));
    }
}
