//! Issue 9's defects and hardening, each with a test that fails without its fix: strict
//! UTF-8, one Authorization header, UTF-8 claims, the 16 KiB rule on every endpoint,
//! idempotent registration, common passwords, and login throttling (doubling, unknown
//! names, parallel guesses), on the in-memory stores and on DynamoDB Local.

mod common;

use std::time::Duration;

use common::{unique_user, Backend, Harness, Tokens, PASSWORD};
use serde_json::json;
use wristband_core::config::ThrottlePolicy;
use wristband_core::ids::{now_millis, now_secs, random_id};
use wristband_core::store::{throttle_key, Created, FailureCount, UserRecord};
use wristband_core::TokenType;
use wristband_test_support::{
    base64_bytes_request, bearer_request, forge_raw, repeated_header_request, request,
    request_from, TEST_SOURCE_IP,
};

on_both_backends!(
    form_passwords_that_are_not_utf8_are_refused_not_merged,
    json_and_base64_bodies_that_are_not_utf8_are_refused,
    more_than_one_authorization_header_is_400_everywhere,
    claims_with_invalid_utf8_are_refused,
    the_16_kib_rule_holds_on_every_endpoint,
    create_user_is_idempotent_for_its_own_retry,
    common_passwords_are_refused_at_register_and_password_change,
    throttling_waits_double_and_success_resets,
    throttling_answers_unknown_names_the_same,
    parallel_wrong_guesses_never_slip_past_the_count,
    throttle_store_doubles_to_fifteen_minutes_on_a_controlled_clock,
    throttle_store_counts_parallel_failures_atomically,
    throttling_is_per_source_address,
);

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

async fn form_passwords_that_are_not_utf8_are_refused_not_merged(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    // Issue 9 defect 1: both became "\u{FFFD}\u{FFFD}..." and so the same password.
    let first = format!("username={name}&password=%FF%FE%FD%FF%FE%FD%FF%FE");
    let r = h.call(request("POST", "/register", &[FORM], &first)).await;
    r.assert_error(400, "invalid_request");
    assert!(r.message().contains("UTF-8"), "{r:?}");
    assert!(h.app.users().unwrap().get(&name).await.unwrap().is_none());
    let second = format!("username={name}&password=%80%81%82%80%81%82%80%81");
    let r = h.call(request("POST", "/login", &[FORM], &second)).await;
    r.assert_error(400, "invalid_request");
    // Valid UTF-8, percent-encoded, is a password like any other.
    let ok = format!("username={name}&password=%C3%A9t%C3%A9+%C3%A0+la+plage");
    assert_eq!(
        h.call(request("POST", "/register", &[FORM], &ok))
            .await
            .status,
        201
    );
    h.login_ok(&name, "été à la plage").await;
}

async fn json_and_base64_bodies_that_are_not_utf8_are_refused(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    let json_ct = ("content-type", "application/json");
    let mut body = format!(r#"{{"username":"{name}","password":"abc"#).into_bytes();
    body.extend_from_slice(b"\xff\xfe\xfd\xfc\"}");
    for (path, ct) in [("/register", json_ct), ("/login", json_ct)] {
        let r = h
            .call(base64_bytes_request("POST", path, &[ct], &body))
            .await;
        r.assert_error(400, "invalid_request");
    }
    let mut form = format!("username={name}&password=").into_bytes();
    form.extend_from_slice(b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8");
    let r = h
        .call(base64_bytes_request("POST", "/register", &[FORM], &form))
        .await;
    r.assert_error(400, "invalid_request");
    // An escaped lone surrogate is not a character either.
    let body = format!(r#"{{"username":"{name}","password":"\ud800 long enough"}}"#);
    let r = h
        .call(request("POST", "/register", &[json_ct], &body))
        .await;
    r.assert_error(400, "invalid_request");
    assert!(h.app.users().unwrap().get(&name).await.unwrap().is_none());
}

async fn more_than_one_authorization_header_is_400_everywhere(backend: Backend) {
    let h = backend.app().await;
    let (_, mine) = h.user_with_tokens().await;
    let (_, theirs) = h.user_with_tokens().await;
    let first = format!("Bearer {}", mine.access);
    let second = format!("Bearer {}", theirs.access);
    let joined = format!("{first},{second}");
    for (method, path) in [
        ("GET", "/protected"),
        ("GET", "/me"),
        ("POST", "/refresh"),
        ("DELETE", "/logout"),
        ("POST", "/logout/all"),
        ("GET", "/sessions"),
        ("DELETE", "/sessions/abc"),
        ("POST", "/password"),
    ] {
        // Two headers, and API Gateway's comma-joined spelling of the same.
        let r = h
            .call(repeated_header_request(
                method,
                path,
                "authorization",
                &[&first, &second],
            ))
            .await;
        r.assert_error(400, "invalid_request");
        assert!(
            r.message().contains("Authorization"),
            "{method} {path} {r:?}"
        );
        let r = h
            .call(request(method, path, &[("authorization", &joined)], ""))
            .await;
        r.assert_error(400, "invalid_request");
    }
    // Nothing happened: both tokens still work.
    assert_eq!(h.protected(&mine.access).await.status, 200);
    assert_eq!(h.protected(&theirs.access).await.status, 200);
}

async fn claims_with_invalid_utf8_are_refused(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let claims = serde_json::to_string(&h.claims(&tokens.access, TokenType::Access)).unwrap();
    let header = format!(
        r#"{{"alg":"HS256","typ":"JWT","kid":"{}"}}"#,
        h.app.config.jwt_kid
    );
    let control = forge_raw(&h.app.config, header.as_bytes(), claims.as_bytes());
    assert_eq!(h.protected(&control).await.status, 200);
    // Issue 9 defect 3: a claim nobody reads, with bytes that are not UTF-8, signed.
    let mut payload = claims.trim_end_matches('}').as_bytes().to_vec();
    payload.extend_from_slice(b",\"note\":\"\xc3\x28\xa0\xa1\"}");
    let token = forge_raw(&h.app.config, header.as_bytes(), &payload);
    h.protected(&token).await.assert_error(401, "invalid_token");
    h.with_token("GET", "/me", &token, "")
        .await
        .assert_error(401, "invalid_token");
}

async fn the_16_kib_rule_holds_on_every_endpoint(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let sid = h.claims(&tokens.access, TokenType::Access).sid;
    let big = json!({"padding": "x".repeat(17 * 1024)}).to_string();
    let end_session = format!("/sessions/{sid}");
    for (method, path, token) in [
        ("POST", "/register", &tokens.access),
        ("POST", "/login", &tokens.access),
        ("POST", "/refresh", &tokens.refresh),
        ("GET", "/protected", &tokens.access),
        ("GET", "/me", &tokens.access),
        ("DELETE", "/logout", &tokens.access),
        ("POST", "/logout/all", &tokens.access),
        ("GET", "/sessions", &tokens.access),
        ("DELETE", end_session.as_str(), &tokens.access),
        ("POST", "/password", &tokens.access),
    ] {
        let r = h.call(bearer_request(method, path, token, &big)).await;
        r.assert_error(400, "invalid_request");
        assert!(r.message().contains("16384"), "{method} {path}: {r:?}");
    }
    // No work was done: the refresh token is unspent, the session and tokens live.
    assert_eq!(h.protected(&tokens.access).await.status, 200);
    assert_eq!(h.refresh(&tokens.refresh).await.status, 200);
    // Exactly 16 KiB is fine where a body is read.
    let at_limit = format!(
        r#"{{"refresh_token":"","pad":"{}"}}"#,
        "x".repeat(16 * 1024 - 29)
    );
    assert_eq!(at_limit.len(), 16 * 1024);
    let fresh: Tokens = h
        .login_ok(&h.claims(&tokens.access, TokenType::Access).sub, PASSWORD)
        .await;
    assert_eq!(h.logout(&fresh.access, &at_limit).await.status, 200);
}

fn user_record(username: &str, creation_id: &str) -> UserRecord {
    UserRecord {
        username: username.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        created_at: now_secs(),
        roles: Vec::new(),
        creation_id: creation_id.to_owned(),
        email: None,
        email_verified: false,
        disabled: false,
        totp: None,
        totp_pending: None,
        recovery_codes: Vec::new(),
        passkeys: Vec::new(),
    }
}

async fn create_user_is_idempotent_for_its_own_retry(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    let creation_id = random_id().unwrap();
    let record = user_record(&name, &creation_id);
    // Issue 9 defect 5: the SDK's retry of a PutItem that had landed is the same write.
    assert_eq!(
        h.app.registry().unwrap().create(&record).await.unwrap(),
        Created::Created
    );
    assert_eq!(
        h.app.registry().unwrap().create(&record).await.unwrap(),
        Created::Created,
        "own retry is a success"
    );
    // Someone else's registration of the same name is not.
    let other = user_record(&name, &random_id().unwrap());
    assert_eq!(
        h.app.registry().unwrap().create(&other).await.unwrap(),
        Created::UsernameTaken
    );
    assert_eq!(
        h.app
            .users()
            .unwrap()
            .get(&name)
            .await
            .unwrap()
            .unwrap()
            .creation_id,
        creation_id
    );
    // Over HTTP, every registration has its own id: the second one is a 409.
    let name = unique_user();
    assert_eq!(h.register(&name, PASSWORD).await.status, 201);
    h.register(&name, PASSWORD)
        .await
        .assert_error(409, "username_taken");
}

async fn common_passwords_are_refused_at_register_and_password_change(backend: Backend) {
    let h = backend.app().await;
    for common in [
        "password",
        "PassWord1",
        "QWERTYUIOP",
        "iloveyou1",
        "ПАРОЛЬ123",
    ] {
        let name = unique_user();
        let r = h.register(&name, common).await;
        if common == "ПАРОЛЬ123" {
            // Not on the list (the list has "пароль" only): a control for the check.
            assert_eq!(r.status, 201, "{r:?}");
            continue;
        }
        r.assert_error(400, "weak_password");
        assert!(r.message().contains("common"), "{common}: {r:?}");
        assert!(h.app.users().unwrap().get(&name).await.unwrap().is_none());
    }
    let (name, tokens) = h.user_with_tokens().await;
    let body = json!({"old_password": PASSWORD, "new_password": "Password123"}).to_string();
    let r = h
        .with_token("POST", "/password", &tokens.access, &body)
        .await;
    r.assert_error(400, "weak_password");
    // The old password still works.
    h.login_ok(&name, PASSWORD).await;
}

/// The status and Retry-After of one login.
async fn attempt(h: &Harness, name: &str, password: &str) -> (u16, Option<u64>) {
    let r = h.login(name, password).await;
    match r.status {
        200 => {}
        401 => r.assert_error(401, "invalid_credentials"),
        429 => r.assert_error(429, "too_many_attempts"),
        other => panic!("unexpected {other}: {r:?}"),
    }
    (r.status, r.header("retry-after").parse().ok())
}

async fn throttling_waits_double_and_success_resets(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    h.register(&name, PASSWORD).await;
    let mut seen = Vec::new();
    // Four failures, then a good login: the count starts again.
    for _ in 0..4 {
        assert_eq!(attempt(&h, &name, "wrong password").await, (401, None));
    }
    h.login_ok(&name, PASSWORD).await;
    for n in 1..=5 {
        let answer = attempt(&h, &name, "wrong password").await;
        seen.push((n, answer));
        assert_eq!(answer, (401, None), "failure {n}");
    }
    // Within the 1 s wait: 429, the right password too.
    for password in ["wrong password", PASSWORD] {
        let answer = attempt(&h, &name, password).await;
        seen.push((6, answer));
        assert_eq!(answer, (429, Some(1)));
    }
    // After it: one more try, then 2 s.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let answer = attempt(&h, &name, "wrong password").await;
    seen.push((6, answer));
    assert_eq!(answer, (401, None));
    let answer = attempt(&h, &name, PASSWORD).await;
    seen.push((7, answer));
    assert_eq!(answer, (429, Some(2)));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let answer = attempt(&h, &name, "wrong password").await;
    seen.push((7, answer));
    assert_eq!(answer, (401, None));
    let answer = attempt(&h, &name, "wrong password").await;
    seen.push((8, answer));
    assert_eq!(answer, (429, Some(4)));
    eprintln!("throttling over HTTP ({backend:?}): (attempt, (status, Retry-After)) {seen:?}");
    // Success after the wait resets the count: the next failure is a plain 401.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert_eq!(attempt(&h, &name, PASSWORD).await.0, 200);
    assert_eq!(attempt(&h, &name, "wrong password").await, (401, None));
    assert_eq!(attempt(&h, &name, PASSWORD).await.0, 200);
    // Nobody else was touched.
    let other = unique_user();
    h.register(&other, PASSWORD).await;
    h.login_ok(&other, PASSWORD).await;
}

async fn throttling_answers_unknown_names_the_same(backend: Backend) {
    let h = backend.app().await;
    let known = unique_user();
    h.register(&known, PASSWORD).await;
    let unknown = unique_user();
    for n in 1..=6 {
        let a = h.login(&known, "wrong password").await;
        let b = h.login(&unknown, "wrong password").await;
        assert_eq!(a.status, b.status, "attempt {n}");
        assert_eq!(a.json, b.json, "attempt {n}");
        assert_eq!(
            a.header("retry-after"),
            b.header("retry-after"),
            "attempt {n}"
        );
        assert_eq!(a.status, if n <= 5 { 401 } else { 429 }, "attempt {n}");
    }
    // The unknown name's count created no user.
    assert!(h
        .app
        .users()
        .unwrap()
        .get(&unknown)
        .await
        .unwrap()
        .is_none());
}

async fn parallel_wrong_guesses_never_slip_past_the_count(backend: Backend) {
    // A long first wait: the burst cannot outlast it, so exactly 5 may be counted.
    let h = backend
        .app_with(|c| c.throttle.first_wait = Duration::from_secs(60))
        .await;
    let name = unique_user();
    h.register(&name, PASSWORD).await;
    let guesses = (0..10).map(|i| {
        let h = &h;
        let name = &name;
        async move { h.login(name, &format!("guess number {i}")).await.status }
    });
    let statuses = common::join_all(guesses).await;
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(unauthorized, 5, "{statuses:?}");
    assert_eq!(throttled, 5, "{statuses:?}");
    // The right password waits too.
    h.login(&name, PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");
}

async fn throttle_store_doubles_to_fifteen_minutes_on_a_controlled_clock(backend: Backend) {
    let h = backend.app().await;
    let policy = ThrottlePolicy::default();
    let key = throttle_key(&unique_user(), Some(TEST_SOURCE_IP));
    let mut now = now_millis();
    let mut waits = Vec::new();
    for n in 1..=17u32 {
        let state = h.app.throttle().unwrap().state(&key, now).await.unwrap();
        if let Some(state) = state {
            assert!(!state.blocks(now), "failure {n} arrives after the wait");
        }
        let FailureCount::Counted {
            failures,
            blocked_until_ms,
        } = h
            .app
            .throttle()
            .unwrap()
            .record_failure(&key, now, &policy)
            .await
            .unwrap()
        else {
            panic!("failure {n} is counted")
        };
        assert_eq!(failures, n);
        let wait = blocked_until_ms.saturating_sub(now) / 1000;
        waits.push(wait);
        if blocked_until_ms > 0 {
            // During the wait: refused, not counted.
            let during = now + 500;
            assert!(h
                .app
                .throttle()
                .unwrap()
                .state(&key, during)
                .await
                .unwrap()
                .unwrap()
                .blocks(during));
            assert_eq!(
                h.app
                    .throttle()
                    .unwrap()
                    .record_failure(&key, during, &policy)
                    .await
                    .unwrap(),
                FailureCount::AlreadyBlocked {
                    until_ms: blocked_until_ms
                }
            );
            now = blocked_until_ms;
        } else {
            now += 1000;
        }
    }
    assert_eq!(
        waits,
        [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    );
    // Never a permanent lock: after the longest wait a login may try again, and a
    // count left alone is forgotten after the memory period.
    assert!(!h
        .app
        .throttle()
        .unwrap()
        .state(&key, now)
        .await
        .unwrap()
        .unwrap()
        .blocks(now));
    let later = now + policy.memory.as_millis() as u64 + 1000;
    assert_eq!(
        h.app.throttle().unwrap().state(&key, later).await.unwrap(),
        None
    );
    h.app.throttle().unwrap().reset(&key).await.unwrap();
    assert_eq!(
        h.app.throttle().unwrap().state(&key, now).await.unwrap(),
        None
    );
}

async fn throttle_store_counts_parallel_failures_atomically(backend: Backend) {
    let h = backend.app().await;
    let policy = ThrottlePolicy::default();
    let key = throttle_key(&unique_user(), Some(TEST_SOURCE_IP));
    let now = now_millis();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let throttle = h.app.throttle().unwrap().clone();
            let key = key.clone();
            tokio::spawn(async move { throttle.record_failure(&key, now, &policy).await })
        })
        .collect();
    let mut counted = Vec::new();
    let mut blocked = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            FailureCount::Counted { failures, .. } => counted.push(failures),
            FailureCount::AlreadyBlocked { until_ms } => {
                assert_eq!(until_ms, now + 1000);
                blocked += 1;
            }
        }
    }
    counted.sort();
    assert_eq!(counted, [1, 2, 3, 4, 5], "each count exactly once");
    assert_eq!(blocked, 7);
}

async fn throttling_is_per_source_address(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    h.register(&name, PASSWORD).await;
    let body = |password: &str| json!({"username": name, "password": password}).to_string();
    let ct = [("content-type", "application/json")];
    let attacker = "198.51.100.66";
    for _ in 0..5 {
        let r = h
            .call(request_from(
                attacker,
                "POST",
                "/login",
                &ct,
                &body("guess"),
            ))
            .await;
        r.assert_error(401, "invalid_credentials");
    }
    let r = h
        .call(request_from(
            attacker,
            "POST",
            "/login",
            &ct,
            &body(PASSWORD),
        ))
        .await;
    r.assert_error(429, "too_many_attempts");
    // The user, from their own address, is not delayed by the attacker (ASVS 5.0 6.1.1).
    h.login_ok(&name, PASSWORD).await;
}
