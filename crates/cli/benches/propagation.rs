//! Revocation propagation across three real nodes on one PostgreSQL database: for each of N
//! revocations acknowledged by node 0, the time until nodes 1 and 2 refuse the token (polled
//! without pause over keep-alive connections). The baseline of the same run is one plain
//! authenticated request to a node, the polling resolution.
//!
//! `cargo bench -p tessera --bench propagation` (TESSERA_BENCH_REVOCATIONS, default 1000).
//! Needs PostgreSQL (TESSERA_TEST_POSTGRES). Loopback only; stops by itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:40} n={:5} p50={:>9.3?} p90={:>9.3?} p99={:>9.3?} max={:>9.3?}",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );
}

async fn until_refused(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    since: Instant,
) -> Duration {
    loop {
        let status = client
            .get(format!("{base}/v4/users/self"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        // 429 is what the brute-force throttle answers for a failing credential after many.
        if status == 401 || status == 429 {
            return since.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            since.elapsed() < Duration::from_secs(5),
            "not refused within 5 s"
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("TESSERA_BENCH_REVOCATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let cluster = support::cluster(3);
    let bases: Vec<String> = cluster.nodes.iter().map(|s| s.base.clone()).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(16)
            .build()
            .unwrap();
        let admin = cluster.admin.clone();
        let mut plain = Vec::with_capacity(n);
        let mut node1 = Vec::with_capacity(n);
        let mut node2 = Vec::with_capacity(n);
        for i in 0..n {
            let created: Value = client
                .post(format!("{}/api/pat/v1/tokens", bases[0]))
                .bearer_auth(&admin)
                .json(&json!({ "name": format!("p{i}"), "expiresIn": 3600 }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let (id, token) = (
                created["patId"].as_str().unwrap().to_string(),
                created["token"].as_str().unwrap().to_string(),
            );
            for base in &bases[1..] {
                let t = Instant::now();
                let status = client
                    .get(format!("{base}/v4/users/self"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .status();
                plain.push(t.elapsed());
                assert_eq!(status.as_u16(), 200);
            }
            let revoked = client
                .post(format!("{}/api/pat/v1/tokens/{id}/invalidate", bases[0]))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_eq!(revoked.status().as_u16(), 200);
            let acknowledged = Instant::now();
            let (a, b) = tokio::join!(
                until_refused(&client, &bases[1], &token, acknowledged),
                until_refused(&client, &bases[2], &token, acknowledged)
            );
            node1.push(a);
            node2.push(b);
        }
        println!("revocation propagation across 3 nodes on PostgreSQL ({n} revocations)");
        report("baseline: one authenticated request", plain);
        let both: Vec<Duration> = node1.iter().zip(&node2).map(|(a, b)| *a.max(b)).collect();
        report("node 1 refuses after the ack", node1);
        report("node 2 refuses after the ack", node2);
        report("both other nodes refuse after the ack", both);
    });
}
