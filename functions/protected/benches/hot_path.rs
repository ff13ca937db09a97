//! CPU cost of wristband's hot paths, without the network: token issue and verify,
//! request parsing, the whole /protected handler on the in-memory store.
//! Run with `cargo bench -p wristband-shared` (or `make bench`, which adds the HTTP load).
//! argon2id is measured in the `login` package (`cargo bench -p login`), linked with the
//! profile the login binary ships with.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use wristband_core::ids::now_secs;
use wristband_core::tokens::Subject;
use wristband_core::{TokenIssuer, TokenType, TokenVerifier};
use wristband_http::request::Fields;
use wristband_http::{api, respond, Cors, Guard};
use wristband_test_support::{
    bearer_request, in_memory_authenticator, issued_pair, json_request, request, test_config,
};

/// The three signing configurations of API.md "Keys", with the test fixtures' keys.
fn key_configs() -> Vec<(&'static str, wristband_core::Config)> {
    let asymmetric = |alg: &str, pem: &str| {
        let vars = [
            ("JWT_ALGORITHM", alg.to_owned()),
            ("JWT_PRIVATE_KEY", pem.to_owned()),
        ];
        wristband_core::Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
        .unwrap()
    };
    vec![
        ("hs256", test_config()),
        (
            "eddsa",
            asymmetric(
                "EdDSA",
                include_str!("../../../shared/keys/fixtures/ed25519.pem"),
            ),
        ),
        (
            "es256",
            asymmetric(
                "ES256",
                include_str!("../../../shared/keys/fixtures/p256.pem"),
            ),
        ),
    ]
}

fn tokens(c: &mut Criterion) {
    let roles = vec!["user".to_owned()];
    let subject = Subject {
        username: "alice",
        roles: &roles,
        sid: "AAAAAAAAAAAAAAAAAAAAAA",
        amr: &[],
    };
    for (alg, config) in key_configs() {
        let issuer = TokenIssuer::new(&config).unwrap();
        let verifier = TokenVerifier::new(&config).unwrap();
        c.bench_function(&format!("token/issue_pair_{alg}"), |b| {
            b.iter(|| {
                issuer
                    .issue_token_pair(black_box(subject), true, now_secs())
                    .unwrap()
            })
        });
        let pair = issuer.issue_token_pair(subject, true, now_secs()).unwrap();
        c.bench_function(&format!("token/verify_{alg}"), |b| {
            b.iter(|| {
                verifier
                    .verify(black_box(&pair.access_token), TokenType::Access)
                    .unwrap()
            })
        });
    }
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
    let config = test_config();
    let (authenticator, _) = in_memory_authenticator(&config);
    let guard = Guard::new(authenticator, protected::requirements());
    let cors = Cors::new(config.cors_allow_origins.clone());
    let pair = issued_pair(&config, "alice", &["user"], true);
    let req = bearer_request("GET", "/protected", &pair.access_token, "");
    // The whole handler: header parsing, verification, revocation check (in memory),
    // JSON answer and response headers. Cloning the request is part of the measured time.
    c.bench_function("handler/protected_in_memory", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = respond(api::PROTECTED_ROUTES, &cors, req.clone(), |_, req| {
                protected::handle(&guard, req)
            })
            .await;
            assert_eq!(response.status(), 200);
            response
        })
    });
}

criterion_group!(benches, tokens, parsing, protected_handler);
criterion_main!(benches);
