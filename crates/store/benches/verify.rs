//! Verification cost of a presented secret, in process: a recently seen valid PAT against
//! stores (and caches) of 1,000 to 1,000,000 tokens, a malformed one, and a cache miss that
//! reads SQLite — with HMAC-SHA256 and a plain hash-map hit measured in the same run as the
//! baselines to read the figures against. Then refusals of well-formed PATs that are unknown,
//! revoked or expired, which must cost the same (SPEC section 9): the first refusal of each
//! (a SQLite read) and a repeated one (from the memory of refused secrets).
//!
//! `cargo bench -p tessera-store --bench verify` (set TESSERA_BENCH_SIZES=1000,1000000 to choose).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use chrono::{Duration, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tessera_core::authn::{AuthError, Authenticator, FastPath, Presented};
use tessera_core::cache::{CacheEntry, CredentialCache, CredentialRef};
use tessera_core::clock::SystemClock;
use tessera_core::ids::{CredentialId, UserId};
use tessera_core::model::{CredentialKind, PrincipalKind, User};
use tessera_core::names::{TokenName, UserName};
use tessera_core::roles::RoleSet;
use tessera_core::secret::{Secret, SecretHasher, SecretKind};
use tessera_core::usage::usage_channel;
use tessera_store::sqlite::SqliteStore;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-bench-key";

struct Fixture {
    authenticator: Authenticator,
    /// Same store, a one-entry cache: cycling through tokens, every lookup misses.
    uncached: Authenticator,
    tokens: Vec<String>,
    /// Same store, remembering one refusal only: cycling through secrets, every refusal is a
    /// first one and reads the store.
    forgetful: Authenticator,
    refusable: [(&'static str, Vec<String>); 3],
    _dir: tempfile::TempDir,
    _usage: tessera_core::usage::UsageReceiver,
}

/// A SQLite store holding `n` PATs of one user, every one of them also in the cache.
fn fixture(runtime: &tokio::runtime::Runtime, n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let store = runtime.block_on(SqliteStore::open(&url)).unwrap();
    let hasher = SecretHasher::new(KEY).unwrap();
    let cache = Arc::new(CredentialCache::new(n * 2));
    let user = Arc::new(User::new(
        PrincipalKind::User,
        UserName::parse("userName", "bench").unwrap(),
        RoleSet::default_for_new_user(),
        Utc::now(),
    ));
    let expires = Utc::now() + Duration::days(30);
    let mut tokens = Vec::with_capacity(n);
    runtime.block_on(async {
        sqlx::query("INSERT INTO principals (id, kind, user_name, roles, status, created_at) VALUES (?, 'user', 'bench', 'Practitioner', 'active', 0)")
            .bind(user.id.to_string())
            .execute(store.pool())
            .await
            .unwrap();
        for chunk in 0..n.div_ceil(10_000) {
            let mut tx = store.pool().begin().await.unwrap();
            for i in chunk * 10_000..((chunk + 1) * 10_000).min(n) {
                let secret = Secret::generate(SecretKind::Pat);
                let hash = hasher.hash(secret.expose());
                let id = CredentialId::new();
                sqlx::query("INSERT INTO credentials (id, kind, principal_id, name, token_hash, created_at, expires_at) VALUES (?, 'pat', ?, ?, ?, 0, ?)")
                    .bind(id.to_string())
                    .bind(user.id.to_string())
                    .bind(format!("t{i}"))
                    .bind(hash.0.as_slice())
                    .bind(expires.timestamp_millis())
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let entry = CacheEntry::new(
                    CredentialRef { id, kind: CredentialKind::Pat, name: TokenName::from_trusted(format!("t{i}")), expires_at: Some(expires) },
                    user.clone(),
                );
                cache.insert(cache.ticket(), hash, Arc::new(entry));
                tokens.push(secret.into_exposed());
            }
            tx.commit().await.unwrap();
        }
    });
    let refusable = runtime.block_on(refusable(&store, &hasher, user.id));
    let (recorder, usage) = usage_channel();
    let store: Arc<dyn tessera_core::store::Store> = Arc::new(store);
    let authenticator = Authenticator::new(
        store.clone(),
        cache,
        hasher.clone(),
        Arc::new(SystemClock),
        recorder.clone(),
    );
    let uncached = Authenticator::new(
        store.clone(),
        Arc::new(CredentialCache::new(1)),
        hasher.clone(),
        Arc::new(SystemClock),
        recorder.clone(),
    );
    let forgetful = Authenticator::new(
        store,
        Arc::new(CredentialCache::new(1).with_refusal_capacity(1)),
        hasher,
        Arc::new(SystemClock),
        recorder,
    );
    Fixture {
        authenticator,
        uncached,
        forgetful,
        refusable,
        tokens,
        _dir: dir,
        _usage: usage,
    }
}

/// How many secrets of each refused kind the refusal benchmarks cycle through.
const REFUSABLE: usize = 1_000;

/// `REFUSABLE` well-formed PATs of each kind a verification refuses: never issued, revoked (an
/// hour before they would expire), expired (a minute ago); the last two stored for `owner`.
async fn refusable(
    store: &SqliteStore,
    hasher: &SecretHasher,
    owner: UserId,
) -> [(&'static str, Vec<String>); 3] {
    let now = Utc::now();
    let unknown = (0..REFUSABLE)
        .map(|_| Secret::generate(SecretKind::Pat).into_exposed())
        .collect();
    let stored = |name: &'static str, expires: i64, revoked: Option<i64>| {
        let mut secrets = Vec::with_capacity(REFUSABLE);
        let mut rows = Vec::with_capacity(REFUSABLE);
        for i in 0..REFUSABLE {
            let secret = Secret::generate(SecretKind::Pat);
            rows.push((format!("{name}{i}"), hasher.hash(secret.expose())));
            secrets.push(secret.into_exposed());
        }
        (name, secrets, rows, expires, revoked)
    };
    let kinds = [
        stored(
            "revoked",
            (now + Duration::hours(1)).timestamp_millis(),
            Some(0),
        ),
        stored(
            "expired",
            (now - Duration::minutes(1)).timestamp_millis(),
            None,
        ),
    ];
    let mut tx = store.pool().begin().await.unwrap();
    for (_, _, rows, expires, revoked) in &kinds {
        for (name, hash) in rows {
            sqlx::query("INSERT INTO credentials (id, kind, principal_id, name, token_hash, created_at, expires_at, revoked_at) VALUES (?, 'pat', ?, ?, ?, 0, ?, ?)")
                .bind(CredentialId::new().to_string())
                .bind(owner.to_string())
                .bind(name)
                .bind(hash.0.as_slice())
                .bind(expires)
                .bind(revoked)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
    let [(_, revoked, ..), (_, expired, ..)] = kinds;
    [
        ("unknown", unknown),
        ("revoked", revoked),
        ("expired", expired),
    ]
}

fn sizes() -> Vec<usize> {
    std::env::var("TESSERA_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 100_000, 1_000_000])
}

fn verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let mut baseline = c.benchmark_group("baseline");
    let hasher = SecretHasher::new(KEY).unwrap();
    let sample = Secret::generate(SecretKind::Pat).into_exposed();
    baseline.bench_function("hmac_sha256_43B", |b| {
        b.iter(|| hasher.hash(black_box(&sample)))
    });
    // Random access over a million keys, as the verification benchmark does.
    let keys: Vec<[u8; 32]> = (0..1_000_000u64)
        .map(|i| hasher.hash(&i.to_string()).0)
        .collect();
    let map: HashMap<[u8; 32], u64> = keys.iter().zip(0..).map(|(k, i)| (*k, i)).collect();
    let mut k = 0usize;
    baseline.bench_function("std_hashmap_random_hit_1M", |b| {
        b.iter(|| {
            k = (k + 7919) % keys.len();
            map.get(black_box(&keys[k])).copied()
        })
    });
    baseline.finish();
    drop((map, keys));

    let mut group = c.benchmark_group("verify");
    for n in sizes() {
        let f = fixture(&runtime, n);
        let now = Utc::now();
        let mut i = 0usize;
        group.bench_with_input(BenchmarkId::new("cached_valid_pat", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 7919) % f.tokens.len();
                match f.authenticator.fast_path(
                    Presented::Bearer(black_box(&f.tokens[i])),
                    None,
                    now,
                ) {
                    FastPath::Hit(caller) => caller,
                    _ => panic!("expected a cache hit"),
                }
            })
        });
        let malformed = format!("{}x", &f.tokens[0][..f.tokens[0].len() - 1]);
        group.bench_with_input(BenchmarkId::new("malformed", n), &n, |b, _| {
            b.iter(|| {
                matches!(
                    f.authenticator
                        .fast_path(Presented::Bearer(black_box(&malformed)), None, now),
                    FastPath::Invalid
                )
            })
        });
        let mut j = 0usize;
        group.bench_with_input(
            BenchmarkId::new("uncached_valid_pat_sqlite", n),
            &n,
            |b, _| {
                b.iter(|| {
                    j = (j + 7919) % f.tokens.len();
                    runtime
                        .block_on(
                            f.uncached
                                .authenticate(Presented::Bearer(&f.tokens[j]), None),
                        )
                        .unwrap()
                })
            },
        );
    }
    group.finish();
}

fn refusal(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("refuse");
    for n in sizes() {
        let f = fixture(&runtime, n);
        for (kind, secrets) in &f.refusable {
            let mut i = 0usize;
            group.bench_with_input(
                BenchmarkId::new(format!("first_{kind}_sqlite"), n),
                &n,
                |b, _| {
                    b.iter(|| {
                        i = (i + 7) % secrets.len();
                        let refused = runtime.block_on(
                            f.forgetful
                                .authenticate(Presented::Bearer(&secrets[i]), None),
                        );
                        assert!(
                            matches!(refused, Err(AuthError::Invalid)),
                            "{kind} not refused"
                        );
                    })
                },
            );
        }
        for (_, secrets) in &f.refusable {
            for secret in secrets {
                let refused = runtime.block_on(
                    f.authenticator
                        .authenticate(Presented::Bearer(secret), None),
                );
                assert!(matches!(refused, Err(AuthError::Invalid)));
            }
        }
        let now = Utc::now();
        for (kind, secrets) in &f.refusable {
            let mut i = 0usize;
            group.bench_with_input(BenchmarkId::new(format!("again_{kind}"), n), &n, |b, _| {
                b.iter(|| {
                    i = (i + 7) % secrets.len();
                    match f.authenticator.fast_path(
                        Presented::Bearer(black_box(&secrets[i])),
                        None,
                        now,
                    ) {
                        FastPath::Invalid => {}
                        _ => panic!("{kind} not refused from memory"),
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = verification, refusal
}
criterion_main!(benches);
