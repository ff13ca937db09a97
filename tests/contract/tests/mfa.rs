//! API.md "Second factor" (TOTP) on both backends: enrolment and confirmation, the
//! two-step login, every refusal (wrong, replayed within the step and concurrently,
//! expired and dead `mfa_token`s, spent recovery codes, non-fresh enrolment), removal,
//! `amr` everywhere, a reset that does not bypass the factor, and the secret sealed at rest.

mod common;

use std::time::Duration;

use common::{join_all, unique_user, Backend, Harness, Tokens, PASSWORD};
use serde_json::{json, Value};
use wristband_core::ids::now_secs;
use wristband_core::mfa::{base32, code_at, step_at};
use wristband_core::onetime::new_token;
use wristband_core::store::MfaChallenge;
use wristband_core::{Requirements, TokenType};
use wristband_http::Guard;
use wristband_test_support::{bearer_request, json_request};

/// An account with an active factor: its name, secret, recovery codes, and the login
/// tokens it enrolled with.
struct Enrolled {
    username: String,
    secret: Vec<u8>,
    recovery_codes: Vec<String>,
    tokens: Tokens,
}

/// The code of `secret` `ahead` steps from now (the window accepts one step either way).
fn code(secret: &[u8], ahead: i64) -> String {
    let step = step_at(now_secs()).saturating_add_signed(ahead);
    format!("{:06}", code_at(secret, step))
}

impl Harness {
    async fn post(&self, path: &str, token: &str, body: Value) -> common::Resp {
        self.with_token("POST", path, token, &body.to_string())
            .await
    }

    async fn enrolled(&self) -> Enrolled {
        let (username, tokens) = self.user_with_tokens().await;
        let r = self.post("/mfa/totp", &tokens.access, json!({})).await;
        assert_eq!(r.status, 200, "{r:?}");
        let secret_text = r.json["secret"].as_str().unwrap().to_owned();
        let secret = common::decode_base32(&secret_text);
        assert!(secret.len() * 8 >= 160, "at least 160 bits");
        let uri = r.json["otpauth_uri"].as_str().unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={secret_text}")), "{uri}");
        assert!(uri.contains(&format!(":{username}?")), "{uri}");
        assert!(uri.contains("issuer="), "{uri}");
        let r = self
            .post(
                "/mfa/totp/confirm",
                &tokens.access,
                json!({"code": code(&secret, 0)}),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let recovery_codes: Vec<String> = r.json["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        Enrolled {
            username,
            secret,
            recovery_codes,
            tokens,
        }
    }

    /// Step one: `401 mfa_required`; the `mfa_token`.
    async fn step_one(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password).await;
        r.assert_error(401, "mfa_required");
        assert_eq!(r.message(), "Second factor required");
        assert_eq!(r.json["methods"], json!(["totp", "recovery_code"]));
        assert!(r.json.get("access_token").is_none());
        r.json["mfa_token"].as_str().unwrap().to_owned()
    }

    async fn step_two(&self, mfa_token: &str, code: &str) -> common::Resp {
        let body = json!({"mfa_token": mfa_token, "code": code});
        self.call(json_request("POST", "/login/mfa", &body)).await
    }
}

async fn enrolment_needs_a_fresh_token_and_a_right_code(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let refreshed = h.refresh(&tokens.refresh).await;
    let stale = refreshed.json["access_token"].as_str().unwrap().to_owned();
    h.post("/mfa/totp", &stale, json!({}))
        .await
        .assert_error(401, "fresh_token_required");
    // Confirming before enrolling is a request error.
    h.post(
        "/mfa/totp/confirm",
        &tokens.access,
        json!({"code": "123456"}),
    )
    .await
    .assert_error(400, "invalid_request");
    let r = h.post("/mfa/totp", &tokens.access, json!({})).await;
    let secret = common::decode_base32(r.json["secret"].as_str().unwrap());
    let wrong = format!(
        "{:06}",
        (code(&secret, 0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    for bad in [wrong.as_str(), "12345", "abcdef", ""] {
        let r = h
            .post("/mfa/totp/confirm", &tokens.access, json!({"code": bad}))
            .await;
        r.assert_error(401, "mfa_failed");
        assert_eq!(r.message(), "Invalid authentication code");
    }
    // Not active until confirmed: the password alone still logs in.
    assert_eq!(h.account_json(&tokens.access).await["mfa"], json!([]));
    let r = h
        .post(
            "/mfa/totp/confirm",
            &tokens.access,
            json!({"code": code(&secret, 0)}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let codes = r.json["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    for c in codes {
        let c = c.as_str().unwrap();
        assert_eq!(c.len(), 11, "{c}");
        assert!(c[..5]
            .bytes()
            .chain(c[6..].bytes())
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }
    assert_eq!(h.account_json(&tokens.access).await["mfa"], json!(["totp"]));
    // A second enrolment while one is active is refused.
    h.post("/mfa/totp", &tokens.access, json!({}))
        .await
        .assert_error(400, "invalid_request");
}

impl Harness {
    async fn account_json(&self, access: &str) -> Value {
        let r = self.with_token("GET", "/account", access, "").await;
        assert_eq!(r.status, 200, "{r:?}");
        r.json
    }
}

async fn the_two_step_login_and_amr(backend: Backend) {
    let h = backend.app().await;
    let e = h.enrolled().await;
    // A wrong password says nothing of the factor.
    let wrong = h.login(&e.username, "wrong password").await;
    wrong.assert_error(401, "invalid_credentials");
    assert!(wrong.json.get("mfa_token").is_none());

    let mfa_token = h.step_one(&e.username, PASSWORD).await;
    // The confirmation used this step: the next one's code is accepted (one step of drift).
    let r = h.step_two(&mfa_token, &code(&e.secret, 1)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let tokens = common::tokens_of(&r);
    let claims = h.claims(&tokens.access, TokenType::Access);
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
    assert!(claims.is_fresh());
    let me = h.with_token("GET", "/me", &tokens.access, "").await;
    assert_eq!(me.json["amr"], json!(["pwd", "otp", "mfa"]));
    // /refresh keeps the login's amr (and is not fresh).
    let refreshed = h.refresh(&tokens.refresh).await;
    let again = h.claims(
        refreshed.json["access_token"].as_str().unwrap(),
        TokenType::Access,
    );
    assert_eq!(again.amr, ["pwd", "otp", "mfa"]);
    // The mfa_token served its login.
    h.step_two(&mfa_token, &e.recovery_codes[0])
        .await
        .assert_error(401, "mfa_failed");
    // A password-only account's tokens say so.
    let (_, plain) = h.user_with_tokens().await;
    assert_eq!(h.claims(&plain.access, TokenType::Access).amr, ["pwd"]);
    // The enrolment's own login token predates the factor.
    assert_eq!(h.claims(&e.tokens.access, TokenType::Access).amr, ["pwd"]);
}

async fn a_code_is_accepted_once(backend: Backend) {
    let h = backend.app().await;
    let e = h.enrolled().await;
    // The confirming code's step is spent: the same code does not log in.
    let first = h.step_one(&e.username, PASSWORD).await;
    h.step_two(&first, &code(&e.secret, 0))
        .await
        .assert_error(401, "mfa_failed");
    // Two logins racing with one new code: one gets tokens.
    let a = h.step_one(&e.username, PASSWORD).await;
    let b = h.step_one(&e.username, PASSWORD).await;
    let next = code(&e.secret, 1);
    let answers = join_all([a.clone(), b.clone()].iter().map(|t| h.step_two(t, &next))).await;
    let won = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!(won, 1, "{answers:?}");
    // ... and the loser's code stays spent on its own mfa_token.
    let loser = if answers[0].status == 200 { &b } else { &a };
    h.step_two(loser, &next)
        .await
        .assert_error(401, "mfa_failed");
}

async fn recovery_codes_work_once_and_can_be_replaced(backend: Backend) {
    let h = backend.app().await;
    let e = h.enrolled().await;
    let spaced = e.recovery_codes[0].to_uppercase().replace('-', " - ");
    let token = h.step_one(&e.username, PASSWORD).await;
    let r = h.step_two(&token, &spaced).await;
    assert_eq!(r.status, 200, "case, spaces and dashes are ignored: {r:?}");
    let tokens = common::tokens_of(&r);
    let token = h.step_one(&e.username, PASSWORD).await;
    h.step_two(&token, &e.recovery_codes[0])
        .await
        .assert_error(401, "mfa_failed");
    // New codes need a TOTP code, not a recovery code; every older code is void after.
    h.post(
        "/mfa/recovery-codes",
        &tokens.access,
        json!({"code": e.recovery_codes[1]}),
    )
    .await
    .assert_error(401, "mfa_failed");
    let r = h
        .post(
            "/mfa/recovery-codes",
            &tokens.access,
            json!({"code": code(&e.secret, 1)}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let fresh_codes = r.json["recovery_codes"].as_array().unwrap();
    assert_eq!(fresh_codes.len(), 10);
    let token = h.step_one(&e.username, PASSWORD).await;
    h.step_two(&token, &e.recovery_codes[2])
        .await
        .assert_error(401, "mfa_failed");
    let r = h.step_two(&token, fresh_codes[0].as_str().unwrap()).await;
    assert_eq!(r.status, 200, "{r:?}");
}

async fn an_mfa_token_dies_after_five_wrong_codes(backend: Backend) {
    // Throttling apart (tested below): ten free failures.
    let h = backend.app_with(|c| c.throttle.free_failures = 10).await;
    let e = h.enrolled().await;
    let token = h.step_one(&e.username, PASSWORD).await;
    for _ in 0..5 {
        h.step_two(&token, "000000")
            .await
            .assert_error(401, "mfa_failed");
    }
    h.step_two(&token, &e.recovery_codes[0])
        .await
        .assert_error(401, "mfa_failed");
    // The code was not spent on the dead token.
    let token = h.step_one(&e.username, PASSWORD).await;
    assert_eq!(h.step_two(&token, &e.recovery_codes[0]).await.status, 200);
}

async fn wrong_codes_count_as_failed_logins(backend: Backend) {
    let h = backend.app().await;
    let e = h.enrolled().await;
    let token = h.step_one(&e.username, PASSWORD).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(h.step_two(&token, "000000").await.status);
    }
    assert_eq!(statuses, [401; 5]);
    // The fifth failure started the account's wait: both steps answer 429 first.
    let r = h.login(&e.username, PASSWORD).await;
    r.assert_error(429, "too_many_attempts");
    assert!(!r.header("retry-after").is_empty());
    let other = new_token().unwrap();
    // A right password at step one reset nothing: after the wait, login asks again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let token = h.step_one(&e.username, PASSWORD).await;
    assert_eq!(h.step_two(&token, &e.recovery_codes[0]).await.status, 200);
    drop(other);
}

async fn unusable_mfa_tokens(backend: Backend) {
    let h = backend.app().await;
    let e = h.enrolled().await;
    // A real token with another account's name in it (its hash is another one).
    let real = h.step_one(&e.username, PASSWORD).await;
    let (random, _) = real.split_once('.').unwrap();
    let (other, _) = h.user_with_tokens().await;
    let swapped = format!("{random}.{other}");
    for token in ["", "x", &"A".repeat(43), &"A".repeat(5000), &swapped] {
        h.step_two(token, &e.recovery_codes[0])
            .await
            .assert_error(401, "mfa_failed");
    }
    // An expired one.
    let expired = wristband_core::mfa::mfa_token(&new_token().unwrap().token, &e.username);
    h.app
        .mfa_challenges()
        .unwrap()
        .create(
            &wristband_core::onetime::token_hash(&expired),
            &MfaChallenge {
                username: e.username.clone(),
                expires_at: now_secs() - 1,
                failures: 0,
            },
        )
        .await
        .unwrap();
    h.step_two(&expired, &e.recovery_codes[0])
        .await
        .assert_error(401, "mfa_failed");
    h.call(json_request(
        "POST",
        "/login/mfa",
        &json!({"mfa_token": "x"}),
    ))
    .await
    .assert_error(400, "invalid_request");
}

async fn removal_needs_a_code(backend: Backend) {
    let h = backend.app().await;
    let e = h.enrolled().await;
    let body = |code: &str| json!({"code": code}).to_string();
    h.with_token("DELETE", "/mfa/totp", &e.tokens.access, &body("000000"))
        .await
        .assert_error(401, "mfa_failed");
    let r = h
        .with_token(
            "DELETE",
            "/mfa/totp",
            &e.tokens.access,
            &body(&e.recovery_codes[3]),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(h.account_json(&e.tokens.access).await["mfa"], json!([]));
    let tokens = h.login_ok(&e.username, PASSWORD).await;
    assert_eq!(h.claims(&tokens.access, TokenType::Access).amr, ["pwd"]);
    // Removed with its recovery codes: a new enrolment starts from nothing.
    let again = h.post("/mfa/totp", &tokens.access, json!({})).await;
    assert_eq!(again.status, 200, "{again:?}");
}

async fn a_reset_does_not_bypass_the_factor(backend: Backend) {
    let h = backend
        .app_with(|c| c.mail.per_address_interval = Duration::ZERO)
        .await;
    let username = unique_user();
    let email = format!("{username}@example.com");
    let body = json!({"username": username, "password": PASSWORD, "email": email});
    assert_eq!(
        h.call(json_request("POST", "/register", &body))
            .await
            .status,
        201
    );
    let token = h.link_token(&email, "/verify-email");
    let r = h
        .call(json_request(
            "POST",
            "/email/verify",
            &json!({"token": token}),
        ))
        .await;
    assert_eq!(r.status, 200);
    let tokens = h.login_ok(&username, PASSWORD).await;
    let r = h.post("/mfa/totp", &tokens.access, json!({})).await;
    let secret = common::decode_base32(r.json["secret"].as_str().unwrap());
    let r = h
        .post(
            "/mfa/totp/confirm",
            &tokens.access,
            json!({"code": code(&secret, 0)}),
        )
        .await;
    assert_eq!(r.status, 200);

    let forgot = json_request("POST", "/password/forgot", &json!({"email": email}));
    assert_eq!(h.call(forgot).await.status, 202);
    let token = h.link_token(&email, "/reset-password");
    let new_password = "a brand new passphrase";
    let reset = json!({"token": token, "new_password": new_password});
    let r = h
        .call(json_request("POST", "/password/reset", &reset))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // The next login still asks for the second factor.
    let mfa_token = h.step_one(&username, new_password).await;
    assert_eq!(h.step_two(&mfa_token, &code(&secret, 1)).await.status, 200);
}

async fn the_secret_is_sealed_at_rest(backend: Backend) {
    let h = backend.app().await;
    let e = h.enrolled().await;
    let user = h
        .app
        .users()
        .unwrap()
        .get(&e.username)
        .await
        .unwrap()
        .unwrap();
    let sealed = user.totp.expect("active").sealed_secret;
    let clear = base32(&e.secret);
    assert!(!sealed.contains(&clear));
    assert_ne!(sealed.as_bytes(), e.secret.as_slice());
    assert!(user
        .recovery_codes
        .iter()
        .all(|h| !e.recovery_codes.iter().any(|c| h.contains(&c[..5]))));
    if let Backend::DynamoDbLocal = backend {
        // The item as DynamoDB holds it: no attribute holds the secret or a code.
        let client = common::client_for(&common::dynamodb_endpoint());
        let item = client
            .get_item()
            .table_name(&h.app.config.tables.users)
            .key(
                "username",
                aws_sdk_dynamodb::types::AttributeValue::S(e.username.clone()),
            )
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        let text = format!("{item:?}");
        assert!(!text.contains(&clear), "{text}");
        for code in &e.recovery_codes {
            assert!(!text.contains(code.as_str()) && !text.contains(&code.replace('-', "")));
        }
    }
}

async fn the_guard_can_require_a_second_factor(backend: Backend) {
    let h = backend.app().await;
    let guard = Guard::new(h.verifier.clone(), Requirements::access().mfa());
    let (_, plain) = h.user_with_tokens().await;
    let err = guard
        .require(&bearer_request("GET", "/mine", &plain.access, ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "insufficient_scope");
    let e = h.enrolled().await;
    let token = h.step_one(&e.username, PASSWORD).await;
    let r = h.step_two(&token, &e.recovery_codes[0]).await;
    let with_mfa = common::tokens_of(&r);
    let claims = guard
        .require(&bearer_request("GET", "/mine", &with_mfa.access, ""))
        .await
        .unwrap();
    assert!(claims.has_mfa());
}

on_both_backends!(
    enrolment_needs_a_fresh_token_and_a_right_code,
    the_two_step_login_and_amr,
    a_code_is_accepted_once,
    recovery_codes_work_once_and_can_be_replaced,
    an_mfa_token_dies_after_five_wrong_codes,
    wrong_codes_count_as_failed_logins,
    unusable_mfa_tokens,
    removal_needs_a_code,
    a_reset_does_not_bypass_the_factor,
    the_secret_is_sealed_at_rest,
    the_guard_can_require_a_second_factor,
);
