//! Refusals of well-formed PATs look and cost the same whatever the reason (SPEC sections 2
//! and 9): the same 401 for an unknown, revoked, expired or deleted PAT, the first time and
//! every time after; and a measurement of what each costs over loopback, which prints medians
//! and asserts nothing (the machine is too noisy to assert on time). Run it in release:
//! `cargo test --release -p tessera-server --test api refusals -- --ignored --nocapture`
//! (`--test api_postgres` for PostgreSQL).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_core::secret::{Secret, SecretKind};

use crate::helpers::{Auth, TestApp, spawn_app_with};

/// What a client can see of a refusal: status, error messages, authentication challenge and
/// which headers were sent (the request id differs by design).
async fn seen(app: &TestApp, secret: &str) -> (u16, Value, Option<String>, Vec<String>) {
    let reply = app.get("/v4/users/self", secret).await;
    let mut names: Vec<String> = reply.headers.keys().map(|k| k.to_string()).collect();
    names.sort();
    (
        reply.status.as_u16(),
        reply.body["errors"].clone(),
        reply.header("www-authenticate").map(str::to_string),
        names,
    )
}

#[tokio::test]
async fn unknown_revoked_expired_and_deleted_pats_get_the_same_401_the_first_time_and_after() {
    let app = spawn_app_with(|c| c.throttle.max_failures = 1000).await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let made = async |name: &str, expires_in: i64| {
        let body = app.create_pat(&jane, name, expires_in).await;
        let token = body["token"].as_str().unwrap().to_string();
        // Used once, so that it is in the verification cache when it stops being valid.
        app.assert_whoami(Auth::Bearer(&token), 200).await;
        (body["patId"].as_str().unwrap().to_string(), token)
    };
    let (id, revoked) = made("revoked", 3600).await;
    app.post_empty(&format!("/api/pat/v1/tokens/{id}/invalidate"), &jane)
        .await
        .assert_status(200);
    let (id, deleted) = made("deleted", 3600).await;
    let gone = app.delete(&format!("/api/pat/v1/tokens/{id}"), &jane).await;
    assert!(gone.status.is_success(), "not deleted: {gone:?}");
    let (_, expired) = made("expired", 1).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let unknown = Secret::generate(SecretKind::Pat).into_exposed();
    let baseline = seen(&app, &unknown).await;
    assert_eq!(baseline.0, 401, "{baseline:?}");
    for round in 0..3 {
        for (what, secret) in [
            ("revoked", &revoked),
            ("deleted", &deleted),
            ("expired", &expired),
            ("unknown", &unknown),
        ] {
            assert_eq!(
                seen(&app, secret).await,
                baseline,
                "refusal {round} of the {what} PAT differs from an unknown one's"
            );
        }
    }
}

const ROUNDS: usize = 300;

/// `count` PATs of a new user `name`, created through the API with lifetime `expires_in` s.
async fn pats(app: &TestApp, name: &str, count: usize, expires_in: i64) -> Vec<String> {
    let (_, token) = app.user_with_token(name, &[]).await;
    let mut made = Vec::with_capacity(count);
    for i in 0..count {
        let body = app.create_pat(&token, &format!("t{i}"), expires_in).await;
        made.push(body["token"].as_str().unwrap().to_string());
    }
    made
}

/// One refused request's round trip, in microseconds.
async fn refusal(app: &TestApp, secret: &str) -> f64 {
    let started = Instant::now();
    let reply = app
        .client
        .get(format!("{}/v4/users/self", app.address))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    let status = reply.status();
    let _ = reply.bytes().await.unwrap();
    let took = started.elapsed().as_secs_f64() * 1e6;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "not refused");
    took
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[tokio::test]
#[ignore = "a measurement: prints medians of refusal times, asserts nothing about them"]
async fn refusing_unknown_revoked_and_expired_pats_over_loopback() {
    let app = spawn_app_with(|c| c.throttle.max_failures = u32::MAX).await;
    let unknown: Vec<String> = (0..ROUNDS)
        .map(|_| Secret::generate(SecretKind::Pat).into_exposed())
        .collect();
    let revoked = pats(&app, "revoked", ROUNDS, 3600).await;
    app.post("/api/pat/v1/tokens/invalidate", &revoked[0], json!({}))
        .await
        .assert_status(200);
    let expired = pats(&app, "expired", ROUNDS, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let kinds = [
        ("unknown", &unknown),
        ("revoked", &revoked),
        ("expired", &expired),
    ];
    for _ in 0..50 {
        refusal(&app, &Secret::generate(SecretKind::Pat).into_exposed()).await;
    }
    // Each secret presented for the first time, then one of each presented again and again;
    // the kinds interleaved so that drift in the machine's load hits them alike.
    for (phase, pick) in [("first", None), ("repeated", Some(0usize))] {
        let mut times = vec![Vec::with_capacity(ROUNDS); kinds.len()];
        for round in 0..ROUNDS {
            for (k, (_, secrets)) in kinds.iter().enumerate() {
                let secret = &secrets[pick.unwrap_or(round)];
                times[k].push(refusal(&app, secret).await);
            }
        }
        let medians: Vec<String> = kinds
            .iter()
            .zip(times)
            .map(|((kind, _), t)| format!("{kind} {:.1} µs", median(t)))
            .collect();
        println!(
            "{:?} {phase} refusals, median of {ROUNDS}: {}",
            crate::BACKEND,
            medians.join(", ")
        );
    }
}
