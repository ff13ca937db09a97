//! API.md "Accounts and email" over real HTTP: the stack `make test` runs sends mail
//! through the SES emulator, and these tests read the links from its store
//! (`GET /store`) as a user reads an inbox. Also: `/password/forgot` takes the same time
//! for every address, and no link or token reaches the functions' log.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wristband_e2e::{call, client, try_login as login, unique, var, PASSWORD};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Every message the emulator holds for `to`, oldest first.
async fn inbox(to: &str) -> Vec<Value> {
    let store: Value = client()
        .get(format!(
            "{}/store",
            var("WRISTBAND_E2E_SES_URL").trim_end_matches('/')
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    store["emails"]
        .as_array()
        .expect("the emulator's store")
        .iter()
        .filter(|m| {
            m["destination"]["to"]
                .as_array()
                .is_some_and(|to_list| to_list.iter().any(|a| a == to))
        })
        .cloned()
        .collect()
}

/// The token of the newest `<APP_URL><page>#token=` link in mail to `to`.
async fn link_token(to: &str, page: &str) -> String {
    let prefix = format!("{}{page}#token=", var("APP_URL").trim_end_matches('/'));
    for message in inbox(to).await.iter().rev() {
        let text = message["body"]["text"].as_str().unwrap_or_default();
        if let Some(at) = text.find(&prefix) {
            return text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
        }
    }
    panic!("no {page} link in the mail to {to}")
}

async fn register_with_email(username: &str, email: &str) {
    let body = json!({"username": username, "password": PASSWORD, "email": email});
    let (status, json) = call(Method::POST, "/register", None, Some(body)).await;
    assert_eq!(status, 201, "{json}");
}

async fn tokens(username: &str, password: &str) -> (String, String) {
    let (status, json) = login(username, password).await;
    assert_eq!(status, 200, "{json}");
    (
        json["access_token"].as_str().unwrap().to_owned(),
        json["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn verify(token: &str) -> (StatusCode, Value) {
    call(
        Method::POST,
        "/email/verify",
        None,
        Some(json!({"token": token})),
    )
    .await
}

/// A registered user whose address is verified through the emailed link.
async fn verified_user(prefix: &str) -> (String, String) {
    let name = unique(prefix);
    let email = format!("{name}@example.com");
    register_with_email(&name, &email).await;
    let token = link_token(&email, "/verify-email").await;
    let (status, json) = verify(&token).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"email": email, "email_verified": true}));
    (name, email)
}

#[tokio::test]
async fn verification_through_the_emulators_inbox() {
    let name = unique("verify");
    let email = format!("{name}@Example.com");
    register_with_email(&name, &email).await;
    let email = email.to_lowercase();
    let (access, _) = tokens(&name, PASSWORD).await;
    let (status, account) = call(Method::GET, "/account", Some(&access), None).await;
    assert_eq!(status, 200);
    assert_eq!(account["email"], email.as_str());
    assert_eq!(account["email_verified"], false);

    let messages = inbox(&email).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["from"], var("MAIL_FROM").as_str());
    let html = messages[0]["body"]["html"].as_str().unwrap();
    assert!(html.contains("/verify-email#token="), "{html}");

    // A mail scanner opening the link spends nothing: the page is the browser
    // example's, and the token only works when POSTed.
    let token = link_token(&email, "/verify-email").await;
    let answers = futures_all(
        (0..5)
            .map(|_| {
                let token = token.clone();
                async move { verify(&token).await }
            })
            .collect(),
    )
    .await;
    let won = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(won, 1, "two concurrent uses, one wins: {answers:?}");
    for (status, json) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(
            (*status, json["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_code"))
        );
    }
    let (_, account) = call(Method::GET, "/account", Some(&access), None).await;
    assert_eq!(account["email_verified"], true);
}

/// Runs the futures concurrently (each on its own task).
async fn futures_all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_reset_ends_every_session_and_the_new_password_works() {
    let (name, email) = verified_user("reset").await;
    let (old_access, old_refresh) = tokens(&name, PASSWORD).await;
    let (status, json) = call(
        Method::POST,
        "/password/forgot",
        None,
        Some(json!({"email": email})),
    )
    .await;
    assert_eq!(status, 202, "{json}");
    let token = link_token(&email, "/reset-password").await;
    let body = json!({"token": token, "new_password": NEW_PASSWORD});
    let (status, json) = call(Method::POST, "/password/reset", None, Some(body.clone())).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        json,
        json!({"message": "Password changed; all sessions ended"})
    );
    assert_eq!(
        call(Method::GET, "/protected", Some(&old_access), None)
            .await
            .0,
        401
    );
    assert_eq!(
        call(Method::POST, "/refresh", Some(&old_refresh), None)
            .await
            .0,
        401
    );
    let (status, json) = call(Method::POST, "/password/reset", None, Some(body)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_code"))
    );
    assert_eq!(login(&name, PASSWORD).await.0, 401);
    let (access, _) = tokens(&name, NEW_PASSWORD).await;
    assert_eq!(
        call(Method::GET, "/protected", Some(&access), None).await.0,
        200
    );
    let notice = inbox(&email).await.pop().unwrap();
    assert!(!notice["body"]["text"].as_str().unwrap().contains("#token="));
}

#[tokio::test]
async fn deletion_frees_the_name_and_the_address() {
    let (name, email) = verified_user("delete").await;
    let (access, refresh) = tokens(&name, PASSWORD).await;
    let (status, json) = call(
        Method::DELETE,
        "/account",
        Some(&access),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 204, "{json}");
    assert_eq!(
        call(Method::GET, "/account", Some(&access), None).await.0,
        401
    );
    assert_eq!(
        call(Method::POST, "/refresh", Some(&refresh), None).await.0,
        401
    );
    register_with_email(&name, &email).await;
    let (access, _) = tokens(&name, PASSWORD).await;
    assert_eq!(
        call(Method::GET, "/protected", Some(&access), None).await.0,
        200
    );
}

/// `/password/forgot` answers alike for an unknown, an unverified and a verified address,
/// also in time: the medians of 30 calls each within 25% or 3 ms, whichever is larger
/// (API.md). The calls interleave, so drift of the machine touches all three alike.
#[tokio::test]
async fn forgot_takes_the_same_time_for_every_address() {
    let (_, verified) = verified_user("forgot-v").await;
    let unverified_name = unique("forgot-u");
    let unverified = format!("{unverified_name}@example.com");
    register_with_email(&unverified_name, &unverified).await;
    let unknown = format!("{}@nowhere.example", unique("forgot-x"));
    let addresses = [&unknown, &unverified, &verified];
    let mut times: [Vec<Duration>; 3] = Default::default();
    let mut answers = BTreeSet::new();
    // One call each first: every function instance started before timing.
    for address in addresses {
        call(
            Method::POST,
            "/password/forgot",
            None,
            Some(json!({"email": address})),
        )
        .await;
    }
    for _ in 0..30 {
        for (i, address) in addresses.iter().enumerate() {
            let started = Instant::now();
            let (status, json) = call(
                Method::POST,
                "/password/forgot",
                None,
                Some(json!({"email": address})),
            )
            .await;
            times[i].push(started.elapsed());
            answers.insert((status.as_u16(), json.to_string()));
        }
    }
    assert_eq!(answers.len(), 1, "one answer for all: {answers:?}");
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect();
    let (low, high) = (
        *medians.iter().min().unwrap(),
        *medians.iter().max().unwrap(),
    );
    let allowed = (low / 4).max(Duration::from_millis(3));
    assert!(
        high - low <= allowed,
        "medians (unknown, unverified, verified) {medians:?} differ by more than {allowed:?}"
    );
    // A link went to the verified address only.
    assert!(inbox(&unknown).await.is_empty());
    assert_eq!(
        inbox(&unverified).await.len(),
        1,
        "the registration's link only"
    );
}

/// Every account event leaves its audit line, and no link, token or password of the
/// flows reaches the log.
#[tokio::test]
async fn account_events_are_audited_without_links_or_tokens() {
    let mut secrets: Vec<String> = vec![NEW_PASSWORD.to_owned()];
    let (name, email) = verified_user("audit-mail").await;
    secrets.push(link_token(&email, "/verify-email").await);
    call(
        Method::POST,
        "/password/forgot",
        None,
        Some(json!({"email": email})),
    )
    .await;
    let reset = link_token(&email, "/reset-password").await;
    secrets.push(reset.clone());
    let (status, _) = verify("A".repeat(43).as_str()).await;
    assert_eq!(status, 400);
    let (status, _) = call(
        Method::POST,
        "/password/reset",
        None,
        Some(json!({"token": reset, "new_password": NEW_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200);
    let (access, refresh) = tokens(&name, NEW_PASSWORD).await;
    secrets.extend([access.clone(), refresh]);
    let (status, _) = call(
        Method::DELETE,
        "/account",
        Some(&access),
        Some(json!({"password": NEW_PASSWORD})),
    )
    .await;
    assert_eq!(status, 204);
    for message in inbox(&email).await {
        let text = message["body"]["text"].as_str().unwrap_or_default();
        for line in text.lines().filter(|l| l.contains("#token=")) {
            secrets.push(line.trim().to_owned());
        }
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let path = var("WRISTBAND_E2E_WATCH_LOG");
    let log = String::from_utf8_lossy(&std::fs::read(path).expect("the watch log")).into_owned();
    for (number, line) in log.lines().enumerate() {
        assert!(
            !line.contains("#token="),
            "log line {} holds a link: {line}",
            number + 1
        );
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "log line {} holds a secret: {line}",
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
    for expected in [
        "user_registered",
        "email_verification_sent",
        "email_verified",
        "password_reset_requested",
        "password_reset",
        "account_deleted",
    ] {
        assert!(events.contains(expected), "no {expected} in {events:?}");
    }
    assert!(
        log.contains("\"audit\":\"invalid_code_refused\""),
        "the refused link is audited"
    );
}

/// `POST /email/verification` answers 202 (within the per-address minute it sends
/// nothing more, and says so to nobody), and `PUT /email` moves the account to a new
/// address only when that address's link is spent; the old address gets a notice and is
/// free again.
#[tokio::test]
async fn a_resend_and_a_change_of_address() {
    let name = unique("move");
    let old = format!("{name}@example.com");
    register_with_email(&name, &old).await;
    let (access, _) = tokens(&name, PASSWORD).await;
    let (status, json) = call(Method::POST, "/email/verification", Some(&access), None).await;
    assert_eq!(status, 202, "{json}");
    assert_eq!(
        verify(&link_token(&old, "/verify-email").await).await.0,
        200
    );

    let new = format!("{name}-new@example.com");
    let body = json!({"email": new, "password": PASSWORD});
    let (status, json) = call(Method::PUT, "/email", Some(&access), Some(body)).await;
    assert_eq!(status, 202, "{json}");
    let (_, account) = call(Method::GET, "/account", Some(&access), None).await;
    assert_eq!(
        account["email"],
        old.as_str(),
        "unchanged until the link is spent"
    );
    let (status, json) = verify(&link_token(&new, "/verify-email").await).await;
    assert_eq!(
        (status, json),
        (
            StatusCode::OK,
            json!({"email": new, "email_verified": true})
        )
    );
    let (_, account) = call(Method::GET, "/account", Some(&access), None).await;
    assert_eq!(account["email"], new.as_str());
    assert!(
        inbox(&old).await.len() >= 2,
        "the link and the notice went to the old address"
    );
    // The old address is free again: another account can take it.
    register_with_email(&unique("taker"), &old).await;
}

/// Deleting an account with a link still unspent removes the link too: it no longer
/// verifies anything, also after the name is registered again.
#[tokio::test]
async fn deletion_removes_a_pending_link() {
    let name = unique("pending");
    let email = format!("{name}@example.com");
    register_with_email(&name, &email).await;
    let pending = link_token(&email, "/verify-email").await;
    let (access, _) = tokens(&name, PASSWORD).await;
    let body = json!({"password": PASSWORD});
    let (status, json) = call(Method::DELETE, "/account", Some(&access), Some(body)).await;
    assert_eq!(status, 204, "{json}");
    assert_eq!(verify(&pending).await.0, 400);
}

/// `POST /password` with a fresh token ends the account's other sessions, and the new
/// password is the one that works.
#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    let name = unique("chpw");
    register_with_email(&name, &format!("{name}@example.com")).await;
    let (other, other_refresh) = tokens(&name, PASSWORD).await;
    let (current, _) = tokens(&name, PASSWORD).await;
    let body = json!({"old_password": PASSWORD, "new_password": NEW_PASSWORD});
    let (status, json) = call(Method::POST, "/password", Some(&current), Some(body)).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        call(Method::GET, "/protected", Some(&other), None).await.0,
        401
    );
    assert_eq!(
        call(Method::POST, "/refresh", Some(&other_refresh), None)
            .await
            .0,
        401
    );
    assert_eq!(login(&name, PASSWORD).await.0, 401);
    assert_eq!(login(&name, NEW_PASSWORD).await.0, 200);
}
