//! An example model server, what a Tessera model API version points at: a small logistic
//! churn classifier. It takes both of Domino's request shapes — `{"data": {...}}` (sync) and
//! `{"parameters": {...}}` (async) — with the features `tenure_months`, `monthly_charges` and
//! `support_calls`, and answers `{"churn_probability": p, "will_churn": bool}`. A missing or
//! non-numeric feature is a 400 naming it, which Tessera's async workers treat as final.
//!
//! `cargo run --release -p model-server -- [LISTEN] [WORK_MICROS]`
//! (defaults `127.0.0.1:9100` and 0). `WORK_MICROS` adds that much computation to every
//! prediction, to stand in for a real model's inference time in benchmarks.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

/// (feature, weight) of the classifier, with its intercept.
const WEIGHTS: [(&str, f64); 3] = [
    ("tenure_months", -0.045),
    ("monthly_charges", 0.021),
    ("support_calls", 0.38),
];
const INTERCEPT: f64 = -1.2;

type Refusal = (StatusCode, Json<Value>);

fn predict(input: &Value) -> Result<Value, Refusal> {
    let features = input
        .get("data")
        .or_else(|| input.get("parameters"))
        .filter(|f| f.is_object())
        .ok_or_else(|| refuse("the body must be {\"data\": {...}} or {\"parameters\": {...}}"))?;
    let mut z = INTERCEPT;
    for (name, weight) in WEIGHTS {
        let value = features
            .get(name)
            .and_then(Value::as_f64)
            .ok_or_else(|| refuse(&format!("feature {name:?} is missing or not a number")))?;
        z += weight * value;
    }
    let p = 1.0 / (1.0 + (-z).exp());
    Ok(json!({ "churn_probability": (p * 1e4).round() / 1e4, "will_churn": p >= 0.5 }))
}

fn refuse(message: &str) -> Refusal {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message })))
}

/// Burns `work` of CPU time, standing in for inference.
fn busy(work: Duration) -> u64 {
    let started = Instant::now();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while started.elapsed() < work {
        for _ in 0..64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    }
    x
}

async fn model(
    State(work): State<Duration>,
    Json(input): Json<Value>,
) -> Result<Json<Value>, Refusal> {
    if !work.is_zero() {
        std::hint::black_box(busy(work));
    }
    predict(&input).map(Json)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:9100".into());
    let work = Duration::from_micros(args.next().map(|w| w.parse()).transpose()?.unwrap_or(0));
    let app = axum::Router::new()
        .route("/", post(model))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(work);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!(
        "model server on http://{listen} (POST /), {} µs of work per prediction",
        work.as_micros()
    );
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_request_shapes_give_the_same_prediction() {
        let features = json!({ "tenure_months": 2, "monthly_charges": 90.0, "support_calls": 4 });
        let sync = predict(&json!({ "data": features })).unwrap();
        let asynchronous = predict(&json!({ "parameters": features })).unwrap();
        assert_eq!(sync, asynchronous);
        assert_eq!(sync["will_churn"], true);
        let loyal =
            json!({ "data": { "tenure_months": 60, "monthly_charges": 20.0, "support_calls": 0 } });
        assert_eq!(predict(&loyal).unwrap()["will_churn"], false);
    }

    #[test]
    fn a_missing_feature_is_named() {
        let Err((status, Json(body))) = predict(&json!({ "data": { "tenure_months": 1 } })) else {
            panic!("accepted a missing feature");
        };
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("monthly_charges"))
        );
        assert!(predict(&json!({ "x": 1 })).is_err());
    }
}
