//! API.md "Second factor", passkeys, over real HTTP through `cargo lambda watch` and
//! DynamoDB Local: registration and login with a software authenticator (ES256 and
//! EdDSA), `amr` in the token, `/me` and the authorizer's context, each refusal (wrong
//! origin, wrong RP id, reused challenge, another account's challenge, bad signature, a
//! counter that goes back, a credential registered twice, a deleted passkey), and the
//! audit trail without a challenge, credential or signature in the log. The Chromium test
//! (tests/e2e/browser/passkeys-test.cjs) does the same with a real browser.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wristband_e2e::{authorize, call, claims, unique, var};
use wristband_test_support::authenticator::{Key, SoftAuthenticator};

/// The relying party make test starts the functions with.
fn authenticator(key: Key) -> SoftAuthenticator {
    SoftAuthenticator::new(
        key,
        &var("WEBAUTHN_RP_ID"),
        var("WEBAUTHN_ORIGINS").split(',').next().unwrap(),
    )
}

async fn register_passkey(access: &str, auth: &mut SoftAuthenticator) -> (StatusCode, Value) {
    let (status, options) = call(
        Method::POST,
        "/passkeys/registration/options",
        Some(access),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let credential = auth.register(&options["publicKey"]);
    call(
        Method::POST,
        "/passkeys/registration",
        Some(access),
        Some(json!({"credential": credential, "name": "e2e key"})),
    )
    .await
}

async fn passkey_login(auth: &mut SoftAuthenticator) -> (StatusCode, Value) {
    let (status, options) = call(
        Method::POST,
        "/login/passkey/options",
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let credential = auth.assert(&options["publicKey"]);
    let body = json!({"challenge_id": options["challenge_id"], "credential": credential});
    call(Method::POST, "/login/passkey", None, Some(body)).await
}

/// A new account, logged in with its password.
async fn account(prefix: &str) -> (String, String) {
    let name = unique(prefix);
    let credentials = wristband_e2e::register(&name).await;
    let login = wristband_e2e::login(&credentials).await;
    (name, wristband_e2e::token(&login, "access_token"))
}

#[tokio::test]
async fn register_log_in_and_remove_a_passkey() {
    for key in [Key::es256(), Key::eddsa()] {
        let (name, access) = account("pk-flow").await;
        let mut auth = authenticator(key);
        let (status, created) = register_passkey(&access, &mut auth).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        let (status, list) = call(Method::GET, "/passkeys", Some(&access), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["passkeys"][0]["id"], id.as_str());

        let (status, login) = passkey_login(&mut auth).await;
        assert_eq!(status, StatusCode::OK, "{login}");
        let token = login["access_token"].as_str().unwrap();
        assert_eq!(claims(token)["sub"], name.as_str());
        assert_eq!(claims(token)["amr"], json!(["hwk", "mfa"]));
        assert_eq!(claims(token)["fresh"], true);
        let (_, me) = call(Method::GET, "/me", Some(token), None).await;
        assert_eq!(me["amr"], json!(["hwk", "mfa"]));
        assert_eq!(authorize(token).await["context"]["amr"], "hwk,mfa");

        let (status, _) = call(
            Method::DELETE,
            &format!("/passkeys/{id}"),
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, refused) = passkey_login(&mut auth).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
        assert_eq!(refused["error"], "invalid_credentials");
    }
}

#[tokio::test]
async fn every_refusal() {
    let (_, access) = account("pk-refusals").await;
    let mut auth = authenticator(Key::es256());
    let (status, _) = register_passkey(&access, &mut auth).await;
    assert_eq!(status, StatusCode::CREATED);

    // Registration: wrong origin, wrong RP id, the same credential twice.
    let mut phish = authenticator(Key::es256());
    phish.origin = "http://localhost.evil.example".into();
    let (status, r) = register_passkey(&access, &mut phish).await;
    assert_eq!(
        (status, r["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "{r}"
    );
    assert!(r["message"].as_str().unwrap().contains("origin"), "{r}");
    let mut other_rp = authenticator(Key::es256());
    other_rp.rp_id = "evil.example".into();
    let (status, r) = register_passkey(&access, &mut other_rp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert!(r["message"].as_str().unwrap().contains("rpIdHash"), "{r}");
    let (_, second) = account("pk-second").await;
    // The authenticator takes the second account's user handle with its options: the
    // credential keeps the first account's, as the refused registration left it.
    let handle = auth.user_handle.clone();
    let (status, r) = register_passkey(&second, &mut auth).await;
    auth.user_handle = handle;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("already registered"),
        "{r}"
    );

    // Another account's challenge.
    let (_, options) = call(
        Method::POST,
        "/passkeys/registration/options",
        Some(&second),
        None,
    )
    .await;
    let credential = authenticator(Key::eddsa()).register(&options["publicKey"]);
    let (status, r) = call(
        Method::POST,
        "/passkeys/registration",
        Some(&access),
        Some(json!({"credential": credential})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert!(r["message"].as_str().unwrap().contains("challenge"), "{r}");

    // Login: a replayed assertion, a bad signature, a counter that goes back.
    let (_, options) = call(
        Method::POST,
        "/login/passkey/options",
        None,
        Some(json!({})),
    )
    .await;
    let credential = auth.assert(&options["publicKey"]);
    let body = json!({"challenge_id": options["challenge_id"], "credential": credential});
    let (status, _) = call(Method::POST, "/login/passkey", None, Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let (status, r) = call(Method::POST, "/login/passkey", None, Some(body)).await;
    assert_eq!(
        (status, r["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    auth.corrupt_signature = true;
    let (status, _) = passkey_login(&mut auth).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    auth.corrupt_signature = false;
    auth.counter -= 2;
    let (status, _) = passkey_login(&mut auth).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    auth.counter += 10;
    let (status, r) = passkey_login(&mut auth).await;
    assert_eq!(status, StatusCode::OK, "{r}");
}

#[tokio::test]
async fn options_are_the_same_for_every_username() {
    let (name, access) = account("pk-options").await;
    let mut auth = authenticator(Key::es256());
    register_passkey(&access, &mut auth).await;
    let mut shapes = BTreeSet::new();
    for username in [name.as_str(), "nobody-at-all", ""] {
        let (status, r) = call(
            Method::POST,
            "/login/passkey/options",
            None,
            Some(json!({"username": username})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(r["publicKey"]["allowCredentials"], json!([]));
        let mut keys: Vec<String> = r["publicKey"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        shapes.insert(keys.join(","));
    }
    assert_eq!(shapes.len(), 1, "{shapes:?}");
}

#[tokio::test]
async fn the_log_holds_events_and_no_credential() {
    let (name, access) = account("pk-audit").await;
    let mut auth = authenticator(Key::es256());
    let (_, options) = call(
        Method::POST,
        "/passkeys/registration/options",
        Some(&access),
        None,
    )
    .await;
    let challenge = options["publicKey"]["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let credential = auth.register(&options["publicKey"]);
    let (status, _) = call(
        Method::POST,
        "/passkeys/registration",
        Some(&access),
        Some(json!({"credential": credential.clone()})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, login_options) = call(
        Method::POST,
        "/login/passkey/options",
        None,
        Some(json!({})),
    )
    .await;
    let challenge_id = login_options["challenge_id"].as_str().unwrap().to_owned();
    let assertion = auth.assert(&login_options["publicKey"]);
    let body = json!({"challenge_id": challenge_id, "credential": assertion.clone()});
    let (status, _) = call(Method::POST, "/login/passkey", None, Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    auth.corrupt_signature = true;
    passkey_login(&mut auth).await;

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let path = var("WRISTBAND_E2E_WATCH_LOG");
    let log = String::from_utf8_lossy(&std::fs::read(path).expect("the watch log")).into_owned();
    let secrets = [
        challenge,
        challenge_id,
        credential["response"]["attestationObject"]
            .as_str()
            .unwrap()
            .to_owned(),
        assertion["response"]["signature"]
            .as_str()
            .unwrap()
            .to_owned(),
        assertion["response"]["clientDataJSON"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    for (number, line) in log.lines().enumerate() {
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "log line {} holds a passkey challenge or credential: {line}",
                number + 1
            );
        }
    }
    let events: BTreeSet<String> = log
        .lines()
        .filter(|line| line.contains("\"audit\":"))
        .filter_map(|line| line.find('{').map(|at| &line[at..]))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["username"] == name.as_str())
        .filter_map(|event| event["audit"].as_str().map(str::to_owned))
        .collect();
    for expected in ["passkey_registered", "login_succeeded", "login_failed"] {
        assert!(events.contains(expected), "no {expected} in {events:?}");
    }
}

/// A passkey login past MAX_SESSIONS_PER_USER (the stack runs with 100) ends the least
/// recently used session, as a password login does: the session cap holds for every way
/// in (also what lets the IAM stage see login-passkey end a session).
#[tokio::test]
async fn a_passkey_login_past_the_cap_ends_the_oldest_session() {
    let name = unique("pk-cap");
    let credentials = wristband_e2e::register(&name).await;
    // At the cap: the passkey login is the 101st session.
    let (oldest, newest) = wristband_e2e::sessions(&credentials, 100).await;
    let mut auth = authenticator(Key::es256());
    let (status, created) = register_passkey(&newest, &mut auth).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        call(Method::GET, "/protected", Some(&oldest), None).await.0,
        200
    );
    let (status, login) = passkey_login(&mut auth).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let (status, refused) = call(Method::GET, "/protected", Some(&oldest), None).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_revoked"))
    );
    assert_eq!(
        call(Method::GET, "/protected", Some(&newest), None).await.0,
        200
    );
}
