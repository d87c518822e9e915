//! Last-used bookkeeping in process: the cost of remembering one more credential's report in
//! `usage::ReportLog` when a minute already holds many (below and beyond `REMEMBERED`, the
//! size at which the map used to be rescanned on every report). The figure should not grow
//! with the number of credentials in use.
//!
//! `cargo bench -p tessera-store --bench usage`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tessera_core::ids::CredentialId;
use tessera_core::usage::{REMEMBERED, ReportLog};

fn report(c: &mut Criterion) {
    let mut group = c.benchmark_group("usage_report");
    let t = 1_700_000_000_000_i64;
    for in_use in [10_000, REMEMBERED - 1, REMEMBERED + 50_000] {
        let mut log = ReportLog::default();
        for _ in 0..in_use {
            log.insert(CredentialId::new(), t);
        }
        let fresh: Vec<CredentialId> = (0..4096).map(|_| CredentialId::new()).collect();
        let mut i = 0;
        group.bench_with_input(BenchmarkId::from_parameter(in_use), &in_use, |b, _| {
            b.iter(|| {
                i = (i + 1) % fresh.len();
                log.insert(black_box(fresh[i]), t + 1);
                black_box(log.get(&fresh[i]))
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = report
}
criterion_main!(benches);
