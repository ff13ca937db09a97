//! CPU cost of wristband's hot paths, without the network: token issue and verify,
//! request parsing, the whole /protected handler on the in-memory store, argon2id.
//! Run with `cargo bench -p wristband-shared` (or `make bench`, which adds the HTTP load).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use shared::request::Fields;
use shared::test_support::{bearer_request, json_request, request, test_config};
use shared::tokens::{now_secs, Subject, TokenService, TokenType};
use shared::{handle, App, Endpoint};

fn tokens(c: &mut Criterion) {
    let service = TokenService::new(&test_config());
    let roles = vec!["user".to_owned()];
    let subject = Subject {
        username: "alice",
        roles: &roles,
        sid: "AAAAAAAAAAAAAAAAAAAAAA",
    };
    c.bench_function("token/issue_pair_hs256", |b| {
        b.iter(|| {
            service
                .issue_token_pair(black_box(subject), true, now_secs())
                .unwrap()
        })
    });
    let pair = service.issue_token_pair(subject, true, now_secs()).unwrap();
    c.bench_function("token/verify_hs256", |b| {
        b.iter(|| {
            service
                .verify(black_box(&pair.access_token), TokenType::Access)
                .unwrap()
        })
    });
}

fn parsing(c: &mut Criterion) {
    let json = json_request(
        "POST",
        "/login",
        &serde_json::json!({"username": "alice", "password": "correct horse battery staple"}),
    );
    c.bench_function("parse/json_body", |b| {
        b.iter(|| {
            let f = Fields::from_request(black_box(&json)).unwrap();
            f.required_str("password").unwrap().len()
        })
    });
    let form = request(
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        "username=alice&password=correct+horse+battery+staple",
    );
    c.bench_function("parse/form_body", |b| {
        b.iter(|| {
            let f = Fields::from_request(black_box(&form)).unwrap();
            f.required_str("password").unwrap().len()
        })
    });
}

fn protected_handler(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = App::in_memory(test_config());
    let roles = vec!["user".to_owned()];
    let pair = app
        .tokens
        .issue_token_pair(
            Subject {
                username: "alice",
                roles: &roles,
                sid: "AAAAAAAAAAAAAAAAAAAAAA",
            },
            true,
            now_secs(),
        )
        .unwrap();
    let req = bearer_request("GET", "/protected", &pair.access_token, "");
    // The whole handler: header parsing, verification, revocation check (in memory),
    // JSON answer and response headers. Cloning the request is part of the measured time.
    c.bench_function("handler/protected_in_memory", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = handle(&app, Endpoint::Protected, req.clone()).await;
            assert_eq!(response.status(), 200);
            response
        })
    });
}

fn argon2id(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let app = App::in_memory(test_config());
    let mut group = c.benchmark_group("argon2id_m19456_t2_p1");
    group.sample_size(20);
    group.bench_function("hash", |b| {
        b.to_async(&runtime)
            .iter(|| app.passwords.hash("correct horse battery staple".into()))
    });
    let phc = runtime
        .block_on(app.passwords.hash("correct horse battery staple".into()))
        .unwrap();
    group.bench_function("verify", |b| {
        b.to_async(&runtime).iter(|| {
            app.passwords
                .verify("correct horse battery staple".into(), Some(phc.clone()))
        })
    });
    group.finish();
}

criterion_group!(benches, tokens, parsing, protected_handler, argon2id);
criterion_main!(benches);
