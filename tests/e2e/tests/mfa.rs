//! API.md "Second factor" (TOTP) over real HTTP: enrolment and confirmation, the two-step
//! login, codes accepted once (also under concurrency), recovery codes, throttling of wrong
//! codes, removal, `amr` in `/me` and in the authorizer's context, and the audit trail
//! without a secret, URI, recovery code or code in the log. The codes are computed here
//! from the enrolment's secret with `wristband_core::mfa` (RFC 6238, held to Appendix B by
//! its unit test; `scripts/totp-with-pyotp.py` checks the same flow with pyotp).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wristband_core::mfa::{code_at, step_at};
use wristband_e2e::{
    authorize, call, call_with_headers, claims, try_login as login, unique, var, PASSWORD,
};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The six-digit code of `secret` at `step`.
fn code(secret: &[u8], step: u64) -> String {
    format!("{:06}", code_at(secret, step))
}

/// The code an authenticator app shows next: the confirmation (or an earlier login)
/// spent the current step's code, and the server takes one step of drift.
fn next_code(secret: &[u8]) -> String {
    code(secret, step_at(now()) + 1)
}

/// Six digits that no step near now gives: a wrong code, whatever the clock does.
fn wrong_code(secret: &[u8]) -> String {
    let step = step_at(now());
    let near: BTreeSet<String> = (step - 2..=step + 3).map(|s| code(secret, s)).collect();
    (0..10u32)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// RFC 4648 base32 (upper case, no padding) as the enrolment gives the secret.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("not base32: {text}"));
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// Step one for an account with a factor: its `mfa_token`.
async fn mfa_token(name: &str) -> String {
    let (status, json) = login(name, PASSWORD).await;
    assert_eq!(status, 401, "{json}");
    assert_eq!(json["error"], "mfa_required", "{json}");
    assert_eq!(json["message"], "Second factor required");
    assert_eq!(json["methods"], json!(["totp", "recovery_code"]));
    assert!(json.get("access_token").is_none(), "no tokens at step one");
    json["mfa_token"].as_str().expect("an mfa_token").to_owned()
}

async fn login_mfa(mfa_token: &str, code: &str) -> (StatusCode, Value) {
    call(
        Method::POST,
        "/login/mfa",
        None,
        Some(json!({"mfa_token": mfa_token, "code": code})),
    )
    .await
}

fn assert_mfa_failed((status, json): &(StatusCode, Value), what: &str) {
    assert_eq!(
        (*status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("mfa_failed")),
        "{what}: {json}"
    );
    assert_eq!(json["message"], "Invalid authentication code", "{what}");
}

/// A user with an active TOTP factor.
struct Enrolled {
    name: String,
    /// A fresh access token of a password login made before the factor.
    access: String,
    secret: Vec<u8>,
    secret_text: String,
    otpauth_uri: String,
    recovery_codes: Vec<String>,
    /// The code the confirmation spent.
    confirmed_with: String,
}

async fn enrolled(prefix: &str) -> Enrolled {
    let name = unique(prefix);
    let credentials = wristband_e2e::register(&name).await;
    let access = wristband_e2e::token(&wristband_e2e::login(&credentials).await, "access_token");
    let (status, enrolment) = call(Method::POST, "/mfa/totp", Some(&access), None).await;
    assert_eq!(status, 200, "{enrolment}");
    let secret_text = enrolment["secret"].as_str().unwrap().to_owned();
    let otpauth_uri = enrolment["otpauth_uri"].as_str().unwrap().to_owned();
    let secret = base32_decode(&secret_text);
    let confirmed_with = code(&secret, step_at(now()));
    let (status, json) = call(
        Method::POST,
        "/mfa/totp/confirm",
        Some(&access),
        Some(json!({"code": confirmed_with})),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let recovery_codes: Vec<String> = json["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    Enrolled {
        name,
        access,
        secret,
        secret_text,
        otpauth_uri,
        recovery_codes,
        confirmed_with,
    }
}

#[tokio::test]
async fn enrol_confirm_and_log_in_in_two_steps() {
    let name = unique("mfa-flow");
    let credentials = wristband_e2e::register(&name).await;
    let first = wristband_e2e::login(&credentials).await;
    let access = wristband_e2e::token(&first, "access_token");
    assert_eq!(claims(&access)["amr"], json!(["pwd"]));
    let (status, me) = call(Method::GET, "/me", Some(&access), None).await;
    assert_eq!((status, &me["amr"]), (StatusCode::OK, &json!(["pwd"])));
    assert_eq!(authorize(&access).await["context"]["amr"], "pwd");

    // Enrolment takes a fresh token: a refreshed one is refused.
    let refresh = wristband_e2e::token(&first, "refresh_token");
    let (status, refreshed) = call(Method::POST, "/refresh", Some(&refresh), None).await;
    assert_eq!(status, 200, "{refreshed}");
    let stale = wristband_e2e::token(&refreshed, "access_token");
    let (status, json) = call(Method::POST, "/mfa/totp", Some(&stale), None).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("fresh_token_required"))
    );

    let (status, enrolment) = call(Method::POST, "/mfa/totp", Some(&access), None).await;
    assert_eq!(status, 200, "{enrolment}");
    let secret_text = enrolment["secret"].as_str().unwrap();
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(
        uri.contains(&format!(":{name}?")),
        "names the account: {uri}"
    );
    assert!(uri.contains(&format!("secret={secret_text}")), "{uri}");
    assert!(uri.contains("&issuer="), "{uri}");
    let secret = base32_decode(secret_text);
    assert!(secret.len() >= 20, "at least 160 bits");

    // Not active until confirmed: the password alone still logs in.
    assert_eq!(login(&name, PASSWORD).await.0, 200);
    let (status, json) = call(
        Method::POST,
        "/mfa/totp/confirm",
        Some(&access),
        Some(json!({"code": wrong_code(&secret)})),
    )
    .await;
    assert_mfa_failed(&(status, json), "a wrong confirmation code");
    assert_eq!(login(&name, PASSWORD).await.0, 200);

    let (status, json) = call(
        Method::POST,
        "/mfa/totp/confirm",
        Some(&access),
        Some(json!({"code": code(&secret, step_at(now()))})),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let codes = json["recovery_codes"].as_array().unwrap();
    let distinct: BTreeSet<&str> = codes.iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 10, "{json}");
    for code in distinct {
        assert!(
            code.len() == 11
                && code.as_bytes()[5] == b'-'
                && code
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| i == 5 || b.is_ascii_lowercase() || b.is_ascii_digit()),
            "xxxxx-xxxxx: {code}"
        );
    }

    let token = mfa_token(&name).await;
    let code = next_code(&secret);
    let (status, tokens) = login_mfa(&token, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    let access = wristband_e2e::token(&tokens, "access_token");
    let refresh = wristband_e2e::token(&tokens, "refresh_token");
    assert_eq!(claims(&access)["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims(&access)["fresh"], true);
    assert_eq!(claims(&access)["sub"], name.as_str());
    let (status, me) = call(Method::GET, "/me", Some(&access), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(me["fresh"], true);
    let answer = authorize(&access).await;
    assert_eq!(answer["isAuthorized"], true, "{answer}");
    assert_eq!(answer["context"]["amr"], "pwd,otp,mfa", "{answer}");
    assert_eq!(answer["context"]["sub"], name.as_str());

    // The login's amr outlives a refresh.
    let (status, refreshed) = call(Method::POST, "/refresh", Some(&refresh), None).await;
    assert_eq!(status, 200, "{refreshed}");
    let access = wristband_e2e::token(&refreshed, "access_token");
    let (_, me) = call(Method::GET, "/me", Some(&access), None).await;
    assert_eq!(
        (&me["amr"], &me["fresh"]),
        (&json!(["pwd", "otp", "mfa"]), &json!(false))
    );

    // A code works once, also within its 30 s, and an mfa_token serves one login.
    let replay = login_mfa(&mfa_token(&name).await, &code).await;
    assert_mfa_failed(&replay, "a replayed code");
    let spent = login_mfa(&token, codes[0].as_str().unwrap()).await;
    assert_mfa_failed(&spent, "a spent mfa_token");
    let (status, json) = login_mfa("not-an-mfa-token", &next_code(&secret)).await;
    assert_mfa_failed(&(status, json), "an unknown mfa_token");
}

/// Two logins racing with one code. `cargo lambda watch` runs one instance per function
/// (no `--concurrency`), so here the two meet in its queue; the conditional write that
/// decides a real race is raced on DynamoDB Local in shared/dynamodb/tests/mfa.rs.
#[tokio::test]
async fn one_code_used_twice_at_once_logs_in_once() {
    let user = enrolled("mfa-race").await;
    let tokens = [mfa_token(&user.name).await, mfa_token(&user.name).await];
    let code = next_code(&user.secret);
    let handles: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let code = code.clone();
            tokio::spawn(async move { login_mfa(&token, &code).await })
        })
        .collect();
    let mut answers = Vec::new();
    for handle in handles {
        answers.push(handle.await.unwrap());
    }
    let won = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(
        won, 1,
        "one code, two logins at once, one wins: {answers:?}"
    );
    for answer in answers.iter().filter(|(s, _)| *s != 200) {
        assert_mfa_failed(answer, "the loser of the race");
    }
}

#[tokio::test]
async fn a_recovery_code_works_once_and_new_ones_void_the_old() {
    let user = enrolled("mfa-recovery").await;
    // Input ignores case, spaces and dashes.
    let typed = user.recovery_codes[0].to_uppercase().replace('-', " ");
    let (status, tokens) = login_mfa(&mfa_token(&user.name).await, &typed).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    let again = login_mfa(&mfa_token(&user.name).await, &user.recovery_codes[0]).await;
    assert_mfa_failed(&again, "a spent recovery code");

    // Ten new codes for a TOTP code (never a recovery code); the old ones are void.
    let (status, json) = call(
        Method::POST,
        "/mfa/recovery-codes",
        Some(&user.access),
        Some(json!({"code": user.recovery_codes[1]})),
    )
    .await;
    assert_mfa_failed(&(status, json), "a recovery code for new recovery codes");
    let (status, json) = call(
        Method::POST,
        "/mfa/recovery-codes",
        Some(&user.access),
        Some(json!({"code": next_code(&user.secret)})),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let fresh: Vec<&str> = json["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(fresh
        .iter()
        .all(|c| !user.recovery_codes.iter().any(|o| o == c)));
    let old = login_mfa(&mfa_token(&user.name).await, &user.recovery_codes[2]).await;
    assert_mfa_failed(&old, "an old recovery code after regeneration");
    let (status, json) = login_mfa(&mfa_token(&user.name).await, fresh[0]).await;
    assert_eq!(status, 200, "{json}");
}

#[tokio::test]
async fn five_wrong_codes_throttle_the_login() {
    let user = enrolled("mfa-throttle").await;
    let token = mfa_token(&user.name).await;
    let wrong = wrong_code(&user.secret);
    for attempt in 1..=5 {
        let answer = login_mfa(&token, &wrong).await;
        assert_mfa_failed(&answer, &format!("wrong code {attempt}"));
    }
    // Wrong codes count as failed logins: now even the right password waits.
    let (status, json, retry_after) = call_with_headers(
        Method::POST,
        "/login",
        None,
        Some(json!({"username": user.name, "password": PASSWORD})),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")),
        "{json}"
    );
    let wait: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&wait), "the first wait is 1 s: {wait}");
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(300)).await;

    // The mfa_token died with its fifth wrong code: the right code does not revive it
    // (and is not spent by it).
    let code = next_code(&user.secret);
    let dead = login_mfa(&token, &code).await;
    assert_mfa_failed(&dead, "an mfa_token after five wrong codes");
    // A right password does not reset the count; a completed login does.
    let (status, json) = login_mfa(&mfa_token(&user.name).await, &code).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(login(&user.name, "not the password").await.0, 401);
    let (status, json) = login(&user.name, PASSWORD).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("mfa_required")),
        "the count started again: {json}"
    );
}

#[tokio::test]
async fn a_recovery_code_removes_the_factor() {
    let user = enrolled("mfa-remove").await;
    // A second enrolment while a factor is active is refused.
    let (status, _) = call(Method::POST, "/mfa/totp", Some(&user.access), None).await;
    assert_eq!(status, 400);
    let (status, json) = call(
        Method::DELETE,
        "/mfa/totp",
        Some(&user.access),
        Some(json!({"code": wrong_code(&user.secret)})),
    )
    .await;
    assert_mfa_failed(&(status, json), "removal with a wrong code");
    mfa_token(&user.name).await; // the factor is still there

    let (status, json) = call(
        Method::DELETE,
        "/mfa/totp",
        Some(&user.access),
        Some(json!({"code": user.recovery_codes[3]})),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let (status, tokens) = login(&user.name, PASSWORD).await;
    assert_eq!(status, 200, "the password alone again: {tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["amr"], json!(["pwd"]));
    assert_eq!(authorize(access).await["context"]["amr"], "pwd");
    // The factor's codes went with it.
    let (status, _) = call(
        Method::DELETE,
        "/mfa/totp",
        Some(access),
        Some(json!({"code": user.recovery_codes[4]})),
    )
    .await;
    assert_eq!(status, 400, "no factor left to remove");
    // And a new enrolment starts afresh.
    let (status, json) = call(Method::POST, "/mfa/totp", Some(access), None).await;
    assert_eq!(status, 200, "{json}");
    assert_ne!(json["secret"], user.secret_text.as_str());
}

/// Every step leaves its audit line for the user, and no secret, URI, recovery code,
/// code or mfa_token of the flow reaches the log.
#[tokio::test]
async fn second_factor_events_are_audited_without_secrets() {
    let user = enrolled("mfa-audit").await;
    let mut codes = vec![user.confirmed_with.clone()];
    let mut secrets = vec![user.secret_text.clone(), user.otpauth_uri.clone()];
    for recovery in &user.recovery_codes {
        secrets.push(recovery.clone());
        secrets.push(recovery.replace('-', ""));
    }

    let token = mfa_token(&user.name).await;
    secrets.push(token.clone());
    let wrong = wrong_code(&user.secret);
    assert_mfa_failed(&login_mfa(&token, &wrong).await, "a wrong code");
    codes.push(wrong);
    let (status, json) = login_mfa(&token, &user.recovery_codes[0]).await;
    assert_eq!(status, 200, "{json}");
    secrets.push(json["access_token"].as_str().unwrap().to_owned());
    secrets.push(json["refresh_token"].as_str().unwrap().to_owned());
    let code = next_code(&user.secret);
    let (status, json) = call(
        Method::DELETE,
        "/mfa/totp",
        Some(&user.access),
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    codes.push(code);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let path = var("WRISTBAND_E2E_WATCH_LOG");
    let log = String::from_utf8_lossy(&std::fs::read(path).expect("the watch log")).into_owned();
    for (number, line) in log.lines().enumerate() {
        assert!(
            !line.contains("otpauth://"),
            "log line {} holds an otpauth URI: {line}",
            number + 1
        );
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "log line {} holds a secret of the second factor: {line}",
                number + 1
            );
        }
        // Six digits stand alone (ids and times in the log hold digit runs of their own).
        for code in &codes {
            assert!(
                !holds_word(line, code),
                "log line {} holds a TOTP code: {line}",
                number + 1
            );
        }
    }
    let events: BTreeSet<String> = log
        .lines()
        .filter(|line| line.contains("\"audit\":"))
        .filter_map(|line| line.find('{').map(|at| &line[at..]))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["username"] == user.name.as_str())
        .filter_map(|event| event["audit"].as_str().map(str::to_owned))
        .collect();
    for expected in [
        "mfa_enrolment_started",
        "mfa_enabled",
        "mfa_required",
        "mfa_failed",
        "recovery_code_used",
        "mfa_disabled",
    ] {
        assert!(events.contains(expected), "no {expected} in {events:?}");
    }
}

/// Whether `word` occurs in `line` as a word of its own: no letter, digit, `.` or `_`
/// right before or after it (so not inside an id, a number or a fraction of a second).
fn holds_word(line: &str, word: &str) -> bool {
    let part_of_word = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '_';
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(part_of_word) && !after.is_some_and(part_of_word)
    })
}

/// A login with a second factor past MAX_SESSIONS_PER_USER (the stack runs with 100) ends
/// the least recently used session, as a password login does: the session is made by
/// `/login/mfa`, which then ends the oldest.
#[tokio::test]
async fn a_second_factor_login_past_the_cap_ends_the_oldest_session() {
    let name = unique("mfa-cap");
    let credentials = wristband_e2e::register(&name).await;
    // At the cap: the session of `/login/mfa` is the 101st.
    let (oldest, newest) = wristband_e2e::sessions(&credentials, 100).await;
    let (status, enrolment) = call(Method::POST, "/mfa/totp", Some(&newest), None).await;
    assert_eq!(status, 200, "{enrolment}");
    let secret = base32_decode(enrolment["secret"].as_str().unwrap());
    let body = json!({"code": code(&secret, step_at(now()))});
    let (status, confirmed) =
        call(Method::POST, "/mfa/totp/confirm", Some(&newest), Some(body)).await;
    assert_eq!(status, 200, "{confirmed}");
    let recovery = confirmed["recovery_codes"][0].as_str().unwrap().to_owned();
    assert_eq!(
        call(Method::GET, "/protected", Some(&oldest), None).await.0,
        200
    );
    let (status, tokens) = login_mfa(&mfa_token(&name).await, &recovery).await;
    assert_eq!(status, 200, "{tokens}");
    let (status, refused) = call(Method::GET, "/protected", Some(&oldest), None).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_revoked"))
    );
}
