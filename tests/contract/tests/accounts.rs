//! API.md "Accounts and email" on both backends: addresses at registration, verification
//! links, address changes, password reset and account deletion, each flow and each
//! refusal. Mail is read from the app's outbox the way a person reads an inbox: the link's
//! token from the text.

mod common;

use std::time::Duration;

use common::{link_token_in, unique_user, Backend, Harness, Tokens, PASSWORD, TEST_APP_URL};
use serde_json::{json, Value};
use wristband_test_support::json_request;

const NEW_PASSWORD: &str = "a brand new passphrase";

fn address_of(username: &str) -> String {
    format!("{username}@Example.COM")
}

impl Harness {
    async fn register_with_email(&self, username: &str, email: &str) -> common::Resp {
        let body = json!({"username": username, "password": PASSWORD, "email": email});
        self.call(json_request("POST", "/register", &body)).await
    }

    /// A registered, logged-in user with an address (lower-cased): (username, address, tokens).
    async fn user_with_address(&self) -> (String, String, Tokens) {
        let username = unique_user();
        let r = self
            .register_with_email(&username, &address_of(&username))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let tokens = self.login_ok(&username, PASSWORD).await;
        (
            username.clone(),
            address_of(&username).to_lowercase(),
            tokens,
        )
    }

    /// ... whose address is verified.
    async fn verified_user(&self) -> (String, String, Tokens) {
        let (username, email, tokens) = self.user_with_address().await;
        let token = self.link_token(&email, "/verify-email");
        assert_eq!(self.verify(&token).await.status, 200);
        (username, email, tokens)
    }

    async fn verify(&self, token: &str) -> common::Resp {
        self.call(json_request(
            "POST",
            "/email/verify",
            &json!({"token": token}),
        ))
        .await
    }

    async fn account(&self, access: &str) -> common::Resp {
        self.with_token("GET", "/account", access, "").await
    }

    async fn forgot(&self, email: &str) -> common::Resp {
        self.call(json_request(
            "POST",
            "/password/forgot",
            &json!({"email": email}),
        ))
        .await
    }

    async fn reset(&self, token: &str, new_password: &str) -> common::Resp {
        let body = json!({"token": token, "new_password": new_password});
        self.call(json_request("POST", "/password/reset", &body))
            .await
    }

    async fn change_email(&self, access: &str, email: &str, password: &str) -> common::Resp {
        let body = json!({"email": email, "password": password}).to_string();
        self.with_token("PUT", "/email", access, &body).await
    }

    async fn delete_account(&self, access: &str, password: &str) -> common::Resp {
        let body = json!({"password": password}).to_string();
        self.with_token("DELETE", "/account", access, &body).await
    }

    fn mails_to(&self, to: &str) -> usize {
        self.outbox.to(to).len()
    }
}

/// Links may come again at once (the 60 s per-address limit is tested on its own).
async fn app_without_interval(backend: Backend) -> Harness {
    backend
        .app_with(|c| c.mail.per_address_interval = Duration::ZERO)
        .await
}

async fn register_sends_a_verification_link(backend: Backend) {
    let h = backend.app().await;
    let (username, email, tokens) = h.user_with_address().await;
    let mail = h.last_mail(&email);
    let prefix = format!("{TEST_APP_URL}/verify-email#token=");
    assert!(mail.text.contains(&prefix), "{}", mail.text);
    assert!(mail.html.contains(&prefix), "{}", mail.html);
    let account = h.account(&tokens.access).await;
    assert_eq!(account.status, 200, "{account:?}");
    assert_eq!(
        account.json,
        json!({
            "username": username,
            "email": email,
            "email_verified": false,
            "created_at": account.json["created_at"],
            "roles": [],
            "mfa": [],
            "passkeys": 0
        })
    );
    assert!(account.json["created_at"].as_u64().unwrap() > 1_700_000_000);

    let token = h.link_token(&email, "/verify-email");
    let r = h.verify(&token).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json, json!({"email": email, "email_verified": true}));
    assert_eq!(h.account(&tokens.access).await.json["email_verified"], true);
    // Spent: the same link again is refused.
    h.verify(&token).await.assert_error(400, "invalid_code");
    assert_eq!(h.verify(&token).await.message(), "Invalid or expired code");
}

async fn an_account_without_address(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let account = h.account(&tokens.access).await;
    assert_eq!(account.json["email"], Value::Null);
    assert_eq!(account.json["email_verified"], false);
    h.with_token("POST", "/email/verification", &tokens.access, "")
        .await
        .assert_error(400, "invalid_request");
    h.account("not a token")
        .await
        .assert_error(401, "invalid_token");
}

async fn addresses_are_unique_case_insensitively(backend: Backend) {
    let h = backend.app().await;
    let (_, email, _) = h.user_with_address().await;
    let other = unique_user();
    let r = h.register_with_email(&other, &email.to_uppercase()).await;
    r.assert_error(409, "email_taken");
    // Nothing of the refused registration was kept: the name is free.
    assert_eq!(h.register(&other, PASSWORD).await.status, 201);
}

async fn malformed_addresses_are_refused(backend: Backend) {
    let h = backend.app().await;
    let long = format!("{}@example.com", "a".repeat(250));
    for bad in [
        "",
        "no-at",
        "a@b@c",
        "@b",
        "a@",
        "a b@c",
        "a\tb@c",
        long.as_str(),
    ] {
        let r = h.register_with_email(&unique_user(), bad).await;
        r.assert_error(400, "invalid_request");
        assert!(r.message().contains("email"), "{bad:?}: {r:?}");
    }
    let r = h
        .call(json_request(
            "POST",
            "/register",
            &json!({"username": unique_user(), "password": PASSWORD, "email": 7}),
        ))
        .await;
    r.assert_error(400, "invalid_request");
}

async fn email_required_by_configuration(backend: Backend) {
    let h = backend.app_with(|c| c.mail.email_required = true).await;
    let r = h.register(&unique_user(), PASSWORD).await;
    r.assert_error(400, "invalid_request");
    assert_eq!(r.message(), "Missing email parameter");
    let name = unique_user();
    assert_eq!(
        h.register_with_email(&name, &address_of(&name))
            .await
            .status,
        201
    );
}

async fn a_new_link_replaces_the_older_one(backend: Backend) {
    let h = app_without_interval(backend).await;
    let (_, email, tokens) = h.user_with_address().await;
    let first = h.link_token(&email, "/verify-email");
    let r = h
        .with_token("POST", "/email/verification", &tokens.access, "")
        .await;
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(r.json, json!({"message": "Verification email sent"}));
    let second = h.link_token(&email, "/verify-email");
    assert_ne!(first, second);
    h.verify(&first).await.assert_error(400, "invalid_code");
    assert_eq!(h.verify(&second).await.status, 200);
    // Verified now: asking again says so.
    let r = h
        .with_token("POST", "/email/verification", &tokens.access, "")
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json, json!({"email": email, "email_verified": true}));
}

async fn links_are_throttled_silently(backend: Backend) {
    let h = backend.app().await;
    let (_, email, tokens) = h.user_with_address().await;
    assert_eq!(h.mails_to(&email), 1);
    let first = h
        .with_token("POST", "/email/verification", &tokens.access, "")
        .await;
    let second = h
        .with_token("POST", "/email/verification", &tokens.access, "")
        .await;
    for r in [&first, &second] {
        assert_eq!(r.status, 202, "{r:?}");
        assert_eq!(r.json, json!({"message": "Verification email sent"}));
    }
    // Within 60 s of the registration's link, no other link of that purpose went out,
    // and the registration's link still works.
    assert_eq!(h.mails_to(&email), 1);
    assert_eq!(
        h.verify(&h.link_token(&email, "/verify-email"))
            .await
            .status,
        200
    );
}

async fn links_per_source_address_are_limited_silently(backend: Backend) {
    let h = backend.app_with(|c| c.mail.mail_per_ip_per_hour = 2).await;
    // A source address of this test alone.
    let id = unique_user();
    let octets: Vec<u8> = id.bytes().rev().take(3).collect();
    let ip = format!("10.{}.{}.{}", octets[0], octets[1], octets[2]);
    let mut emails = Vec::new();
    for _ in 0..4 {
        let name = unique_user();
        let email = format!("{name}@example.com");
        let body = json!({"username": name, "password": PASSWORD, "email": email}).to_string();
        let r = h
            .call(wristband_test_support::request_from(
                &ip,
                "POST",
                "/register",
                &[("content-type", "application/json")],
                &body,
            ))
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        emails.push(email);
    }
    let sent: Vec<usize> = emails.iter().map(|e| h.mails_to(e)).collect();
    assert_eq!(sent, [1, 1, 0, 0]);
}

async fn bad_tokens_are_invalid_codes(backend: Backend) {
    let h = backend.app().await;
    let unknown = "A".repeat(43);
    let long = "A".repeat(5000);
    for token in ["", "x", unknown.as_str(), long.as_str(), "../../etc", "é"] {
        h.verify(token).await.assert_error(400, "invalid_code");
        let r = h.reset(token, NEW_PASSWORD).await;
        r.assert_error(400, "invalid_code");
    }
    h.call(json_request("POST", "/email/verify", &json!({})))
        .await
        .assert_error(400, "invalid_request");
    h.call(json_request("POST", "/email/verify", &json!({"token": 1})))
        .await
        .assert_error(400, "invalid_request");
}

async fn expired_links_are_refused(backend: Backend) {
    let h = backend
        .app_with(|c| c.mail.verify_token_ttl = Duration::from_secs(1))
        .await;
    let (_, email, _) = h.user_with_address().await;
    let token = h.link_token(&email, "/verify-email");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    h.verify(&token).await.assert_error(400, "invalid_code");
}

async fn concurrent_uses_of_one_link_one_wins(backend: Backend) {
    let h = backend.app().await;
    let (_, email, _) = h.user_with_address().await;
    let token = h.link_token(&email, "/verify-email");
    let answers = common::join_all((0..8).map(|_| h.verify(&token))).await;
    let won = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!(won, 1, "{answers:?}");
    for r in answers.iter().filter(|r| r.status != 200) {
        r.assert_error(400, "invalid_code");
    }
}

async fn an_address_changes_only_when_the_new_one_is_verified(backend: Backend) {
    let h = app_without_interval(backend).await;
    let (username, old, tokens) = h.verified_user().await;
    let new = format!("new-{username}@example.org");
    h.change_email(&tokens.access, &new, "wrong password")
        .await
        .assert_error(401, "invalid_credentials");
    let r = h.change_email(&tokens.access, &new, PASSWORD).await;
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(r.json, json!({"message": "Verification email sent"}));
    // Not yet: the account keeps its verified address.
    let account = h.account(&tokens.access).await.json;
    assert_eq!(
        (
            account["email"].as_str(),
            account["email_verified"].as_bool()
        ),
        (Some(old.as_str()), Some(true))
    );
    let notices_before = h.mails_to(&old);

    let token = h.link_token(&new, "/verify-email");
    let r = h.verify(&token).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json, json!({"email": new, "email_verified": true}));
    let account = h.account(&tokens.access).await.json;
    assert_eq!(account["email"], new.as_str());
    assert_eq!(account["email_verified"], true);
    // A notice went to the old address, which is free again.
    assert_eq!(h.mails_to(&old), notices_before + 1);
    assert!(h.last_mail(&old).text.contains(&new));
    assert_eq!(
        link_token_in(&h.last_mail(&old).text, "/verify-email"),
        None
    );
    let other = unique_user();
    assert_eq!(h.register_with_email(&other, &old).await.status, 201);
    // The new address is taken now.
    h.register_with_email(&unique_user(), &new)
        .await
        .assert_error(409, "email_taken");
}

async fn an_address_change_needs_a_fresh_token_and_a_free_address(backend: Backend) {
    let h = backend.app().await;
    let (_, _, tokens) = h.user_with_address().await;
    let (_, taken, _) = h.user_with_address().await;
    h.change_email(&tokens.access, &taken.to_uppercase(), PASSWORD)
        .await
        .assert_error(409, "email_taken");
    let refreshed = h.refresh(&tokens.refresh).await;
    let stale = refreshed.json["access_token"].as_str().unwrap().to_owned();
    h.change_email(&stale, "x@example.org", PASSWORD)
        .await
        .assert_error(401, "fresh_token_required");
    h.change_email(&tokens.access, "not an address", PASSWORD)
        .await
        .assert_error(400, "invalid_request");
}

async fn forgot_answers_the_same_for_every_address(backend: Backend) {
    let h = backend.app().await;
    let (_, verified, _) = h.verified_user().await;
    let (_, unverified, _) = h.user_with_address().await;
    let unknown = format!("{}@nowhere.example", unique_user());
    let before_unverified = h.mails_to(&unverified);
    let mut answers = Vec::new();
    for email in [&verified, &unverified, &unknown] {
        let r = h.forgot(email).await;
        answers.push((r.status, r.json.clone(), r.headers.len()));
    }
    assert_eq!(answers[0].0, 202);
    assert_eq!(
        answers[0].1,
        json!({"message": "If an account has this verified address, a reset link has been sent"})
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    // A link went only to the verified address.
    assert!(link_token_in(&h.last_mail(&verified).text, "/reset-password").is_some());
    assert_eq!(h.mails_to(&unverified), before_unverified);
    assert_eq!(h.mails_to(&unknown), 0);
    h.forgot("not an address")
        .await
        .assert_error(400, "invalid_request");
}

async fn a_reset_ends_every_session_and_logs_nobody_in(backend: Backend) {
    let h = backend.app().await;
    let (username, email, first) = h.verified_user().await;
    let second = h.login_ok(&username, PASSWORD).await;
    assert_eq!(h.forgot(&email).await.status, 202);
    let token = h.link_token(&email, "/reset-password");

    // A weak password leaves the link unspent.
    h.reset(&token, "password")
        .await
        .assert_error(400, "weak_password");
    h.reset(&token, "short")
        .await
        .assert_error(400, "weak_password");

    // A token issued just before the reset, in the same second.
    let same_second = h.login_ok(&username, PASSWORD).await;
    let r = h.reset(&token, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json,
        json!({"message": "Password changed; all sessions ended"})
    );
    assert!(
        r.json.get("access_token").is_none(),
        "a reset logs nobody in"
    );
    for tokens in [&first, &second, &same_second] {
        h.assert_session_revoked(tokens).await;
    }
    // Spent.
    h.reset(&token, "yet another passphrase")
        .await
        .assert_error(400, "invalid_code");
    // The old password is gone, the new one works at once, and so do its tokens.
    h.login(&username, PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    let after = h.login_ok(&username, NEW_PASSWORD).await;
    assert_eq!(h.protected(&after.access).await.status, 200);
    assert_eq!(h.refresh(&after.refresh).await.status, 200);
    // A notice went to the address, without a link.
    let notice = h.last_mail(&email);
    assert!(
        notice.subject.to_lowercase().contains("password"),
        "{notice:?}"
    );
    assert_eq!(link_token_in(&notice.text, "/reset-password"), None);
}

async fn a_reset_link_is_not_a_verification_link(backend: Backend) {
    let h = backend.app().await;
    let (_, email, _) = h.verified_user().await;
    assert_eq!(h.forgot(&email).await.status, 202);
    let token = h.link_token(&email, "/reset-password");
    h.verify(&token).await.assert_error(400, "invalid_code");
    // ... and trying it there did not spend it.
    assert_eq!(h.reset(&token, NEW_PASSWORD).await.status, 200);
}

async fn deletion_removes_the_account_and_refuses_its_tokens(backend: Backend) {
    let h = backend.app().await;
    let (username, email, tokens) = h.verified_user().await;
    let other_session = h.login_ok(&username, PASSWORD).await;
    h.delete_account(&tokens.access, "wrong password")
        .await
        .assert_error(401, "invalid_credentials");
    let refreshed = h.refresh(&tokens.refresh).await;
    let stale = refreshed.json["access_token"].as_str().unwrap().to_owned();
    h.delete_account(&stale, PASSWORD)
        .await
        .assert_error(401, "fresh_token_required");

    let r = h.delete_account(&other_session.access, PASSWORD).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(r.json, Value::Null);
    if let Backend::DynamoDbLocal = backend {
        // Every item of the account is gone from the tables; what stays is the cutoff
        // that refuses its tokens (until their TTL), which names the account alone.
        let left = items_mentioning(&h, &[&username, &email]).await;
        assert_eq!(left, [format!("user#{username}")], "{left:?}");
    }

    h.assert_session_revoked(&other_session).await;
    h.account(&stale).await.assert_error(401, "token_revoked");
    h.login(&username, PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    let notice = h.last_mail(&email);
    assert!(
        notice.subject.to_lowercase().contains("deleted"),
        "{notice:?}"
    );
    assert!(h
        .app
        .users()
        .unwrap()
        .get(&username)
        .await
        .unwrap()
        .is_none());
    assert!(h
        .app
        .accounts()
        .unwrap()
        .find_by_email(&email)
        .await
        .unwrap()
        .is_none());

    // The name and the address are free, and the new account's tokens work at once.
    let r = h.register_with_email(&username, &email).await;
    assert_eq!(r.status, 201, "{r:?}");
    let again = h.login_ok(&username, PASSWORD).await;
    assert_eq!(h.protected(&again.access).await.status, 200);
    assert_eq!(h.account(&again.access).await.json["email_verified"], false);
}

/// The keys of the items in the three tables with a string attribute holding one of
/// `needles`.
async fn items_mentioning(h: &Harness, needles: &[&str]) -> Vec<String> {
    let client = common::client_for(&common::dynamodb_endpoint());
    let tables = &h.app.config.tables;
    let mut keys = Vec::new();
    for (table, key) in [
        (&tables.users, "username"),
        (&tables.revoked_tokens, "jti"),
        (&tables.sessions, "sid"),
    ] {
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in page.items() {
                let mentions = item.values().any(|v| {
                    v.as_s()
                        .is_ok_and(|text| needles.iter().any(|n| text.contains(n)))
                });
                if mentions {
                    keys.push(item[key].as_s().unwrap().clone());
                }
            }
            match page.last_evaluated_key() {
                Some(last) => start = Some(last.clone()),
                None => break,
            }
        }
    }
    keys
}

async fn a_disabled_account_cannot_log_in(backend: Backend) {
    let h = backend.app().await;
    let (username, _, _) = h.user_with_address().await;
    h.app
        .accounts()
        .unwrap()
        .set_disabled(&username, true)
        .await
        .unwrap()
        .expect("the user");
    let r = h.login(&username, PASSWORD).await;
    r.assert_error(403, "account_disabled");
    assert_eq!(r.message(), "Account disabled");
    h.login(&username, "wrong password")
        .await
        .assert_error(401, "invalid_credentials");
}

async fn mail_outages(backend: Backend) {
    let h = app_without_interval(backend).await;
    let (username, email, tokens) = h.verified_user().await;
    let (_, unverified, unverified_tokens) = h.user_with_address().await;
    h.outbox.set_failing(true);
    // /password/forgot tells nothing, also when mail fails.
    let r = h.forgot(&email).await;
    assert_eq!(r.status, 202, "{r:?}");
    // The other sends fail closed.
    h.with_token("POST", "/email/verification", &unverified_tokens.access, "")
        .await
        .assert_error(503, "service_unavailable");
    h.change_email(
        &tokens.access,
        &format!("x-{username}@example.org"),
        PASSWORD,
    )
    .await
    .assert_error(503, "service_unavailable");
    // Registration keeps the account (a link can be asked for again).
    let name = unique_user();
    assert_eq!(
        h.register_with_email(&name, &address_of(&name))
            .await
            .status,
        201
    );
    h.outbox.set_failing(false);
    assert_eq!(
        h.with_token("POST", "/email/verification", &unverified_tokens.access, "")
            .await
            .status,
        202
    );
    assert!(link_token_in(&h.last_mail(&unverified).text, "/verify-email").is_some());
}

async fn forms_work_too(backend: Backend) {
    let h = backend.app().await;
    let name = unique_user();
    let body =
        format!("username={name}&password=correct+horse+battery+staple&email={name}%40example.com");
    let r = h
        .call(wristband_test_support::request(
            "POST",
            "/register",
            &[("content-type", "application/x-www-form-urlencoded")],
            &body,
        ))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let email = format!("{name}@example.com");
    let token = h.link_token(&email, "/verify-email");
    let r = h
        .call(wristband_test_support::request(
            "POST",
            "/email/verify",
            &[("content-type", "application/x-www-form-urlencoded")],
            &format!("token={token}"),
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

on_both_backends!(
    register_sends_a_verification_link,
    an_account_without_address,
    addresses_are_unique_case_insensitively,
    malformed_addresses_are_refused,
    email_required_by_configuration,
    a_new_link_replaces_the_older_one,
    links_are_throttled_silently,
    links_per_source_address_are_limited_silently,
    bad_tokens_are_invalid_codes,
    expired_links_are_refused,
    concurrent_uses_of_one_link_one_wins,
    an_address_changes_only_when_the_new_one_is_verified,
    an_address_change_needs_a_fresh_token_and_a_free_address,
    forgot_answers_the_same_for_every_address,
    a_reset_ends_every_session_and_logs_nobody_in,
    a_reset_link_is_not_a_verification_link,
    deletion_removes_the_account_and_refuses_its_tokens,
    a_disabled_account_cannot_log_in,
    mail_outages,
    forms_work_too,
);
