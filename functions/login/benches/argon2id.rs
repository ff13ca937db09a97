//! argon2id (m=19456 KiB, t=2, p=1) as the `login` binary runs it.
//!
//! Under fat LTO the whole program is optimised once more at the opt-level of the package
//! whose binary is linked, so argon2's speed depends on the linking package's profile, not
//! on argon2's own. This bench lives in the `login` package so that it is linked with the
//! profile login ships with (`[profile.release.package.login]`; `bench` inherits
//! `release`): `cargo bench -p login --bench argon2id`.

use criterion::{criterion_group, criterion_main, Criterion};
use wristband_services::password::PasswordHasher;

fn argon2id(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let passwords = PasswordHasher::new();
    let mut group = c.benchmark_group("argon2id_m19456_t2_p1");
    group.sample_size(20);
    group.bench_function("hash", |b| {
        b.to_async(&runtime)
            .iter(|| passwords.hash("correct horse battery staple".into()))
    });
    let phc = runtime
        .block_on(passwords.hash("correct horse battery staple".into()))
        .unwrap();
    group.bench_function("verify", |b| {
        b.to_async(&runtime)
            .iter(|| passwords.verify("correct horse battery staple".into(), Some(phc.clone())))
    });
    group.finish();
}

criterion_group!(benches, argon2id);
criterion_main!(benches);
