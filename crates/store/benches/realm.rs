//! Realm costs in process, per algorithm: verifying an access token (Tessera's verifier, with
//! `jsonwebtoken` underneath), issuing one uncached (claims + signature on the blocking pool),
//! and issuing one from the per-credential cache — beside SHA-256 of the same bytes, measured
//! in the same run as the baseline to read the figures against.
//!
//! `cargo bench -p tessera-store --bench realm`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use tessera_core::cache::CredentialRef;
use tessera_core::clock::SystemClock;
use tessera_core::ids::CredentialId;
use tessera_core::model::{CredentialKind, PrincipalKind, User};
use tessera_core::names::{Email, TokenName, UserName};
use tessera_core::realm::keys::KeyCipher;
use tessera_core::realm::{Algorithm, Realm, RealmSettings};
use tessera_core::roles::RoleSet;
use tessera_store::sqlite::SqliteStore;

fn user() -> User {
    User {
        email: Some(Email::parse("email", "bench@example.com").unwrap()),
        first_name: "Ben".into(),
        last_name: "Ch".into(),
        ..User::new(
            PrincipalKind::User,
            UserName::parse("userName", "bench").unwrap(),
            RoleSet::default_for_new_user(),
            Utc::now(),
        )
    }
}

fn realm_costs(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("realm");
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let dir = tempfile::tempdir().unwrap();
        let store = runtime
            .block_on(SqliteStore::open(&format!(
                "sqlite://{}/b.db",
                dir.path().display()
            )))
            .unwrap();
        let mut settings = RealmSettings::new("http://127.0.0.1:8080");
        settings.algorithm = alg;
        let realm = runtime
            .block_on(Realm::start(
                settings,
                KeyCipher::new(&[3u8; 32]).unwrap(),
                Arc::new(store),
                Arc::new(SystemClock),
                Arc::new(tessera_core::invalidation::LocalOnly),
            ))
            .unwrap();
        let user = user();
        let source = |id: CredentialId| CredentialRef {
            id,
            kind: CredentialKind::Pat,
            name: TokenName::from_trusted("bench".into()),
            expires_at: None,
        };
        let cached = source(CredentialId::new());
        let token = runtime
            .block_on(realm.issue(&user, &cached, None))
            .unwrap()
            .token;
        let verifier = realm.verifier();
        let now = Utc::now();

        group.bench_with_input(
            BenchmarkId::new("baseline_sha256_of_token", alg.as_str()),
            &token,
            |b, t| b.iter(|| Sha256::digest(black_box(t.as_bytes()))),
        );
        group.bench_with_input(BenchmarkId::new("verify", alg.as_str()), &token, |b, t| {
            b.iter(|| verifier.verify(black_box(t), now).unwrap())
        });
        group.bench_function(BenchmarkId::new("issue_uncached", alg.as_str()), |b| {
            b.iter(|| {
                runtime
                    .block_on(realm.issue(&user, &source(CredentialId::new()), None))
                    .unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("issue_cached", alg.as_str()), |b| {
            b.iter(|| runtime.block_on(realm.issue(&user, &cached, None)).unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = realm_costs
}
criterion_main!(benches);
