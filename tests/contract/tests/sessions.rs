//! Refresh rotation with reuse detection, logout everywhere, the session list and
//! password change, on the in-memory stores and on DynamoDB Local.

mod common;

use std::time::Duration;

use common::{tokens_of, Backend, Harness, Tokens, PASSWORD};
use serde_json::json;
use wristband_core::ids::now_secs;
use wristband_core::TokenType;
use wristband_test_support::{forge, request};

on_both_backends!(
    refresh_rotates_and_keeps_the_session,
    refresh_validates_the_token,
    retry_within_grace_is_refused_but_not_punished,
    reuse_after_grace_revokes_the_whole_session_only,
    concurrent_refreshes_with_one_token_give_one_200,
    logout_all_refuses_every_earlier_token_of_the_user_only,
    sessions_are_listed_and_ended,
    ending_someone_elses_session_is_404,
    password_change_needs_a_fresh_token_and_ends_other_sessions,
    password_change_validates_input,
    logout_all_ends_more_sessions_than_one_batch_holds,
    password_change_ends_more_sessions_than_one_batch_holds,
);

async fn refresh_ok(h: &Harness, refresh: &str) -> Tokens {
    let r = h.refresh(refresh).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 900);
    tokens_of(&r)
}

async fn refresh_rotates_and_keeps_the_session(backend: Backend) {
    let h = backend.app().await;
    let (name, first) = h.user_with_tokens().await;
    let second = refresh_ok(&h, &first.refresh).await;
    let access = h.claims(&second.access, TokenType::Access);
    assert_eq!(access.sub, name);
    assert_eq!(access.fresh, Some(false));
    assert_eq!(access.sid, h.claims(&first.access, TokenType::Access).sid);
    assert_eq!(h.protected(&second.access).await.status, 200);
    // The old access token stays valid until its exp; the spent refresh token does not.
    assert_eq!(h.protected(&first.access).await.status, 200);
    h.refresh(&first.refresh)
        .await
        .assert_error(401, "token_revoked");
    // And the chain goes on.
    let third = refresh_ok(&h, &second.refresh).await;
    assert_eq!(h.protected(&third.access).await.status, 200);
}

async fn refresh_validates_the_token(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let r = h.refresh(&tokens.access).await;
    r.assert_error(401, "invalid_token");
    assert!(r.message().contains("refresh"), "{r:?}");
    let r = h.call(request("POST", "/refresh", &[], "")).await;
    r.assert_error(401, "missing_token");
    let mut expired = h.claims(&tokens.refresh, TokenType::Refresh);
    expired.exp = expired.iat - 1;
    h.refresh(&forge(&h.app.config, &expired))
        .await
        .assert_error(401, "token_expired");
    let r = h.call(request("GET", "/refresh", &[], "")).await;
    r.assert_error(405, "method_not_allowed");
}

async fn retry_within_grace_is_refused_but_not_punished(backend: Backend) {
    let h = backend.app().await; // default grace: 10 s
    let (_, first) = h.user_with_tokens().await;
    let second = refresh_ok(&h, &first.refresh).await;
    h.refresh(&first.refresh)
        .await
        .assert_error(401, "token_revoked");
    // The session survived the retry.
    assert_eq!(h.protected(&second.access).await.status, 200);
    refresh_ok(&h, &second.refresh).await;
}

async fn reuse_after_grace_revokes_the_whole_session_only(backend: Backend) {
    let h = backend
        .app_with(|c| c.refresh_reuse_grace = Duration::from_secs(1))
        .await;
    let (name, stolen) = h.user_with_tokens().await;
    let other_session = h.login_ok(&name, PASSWORD).await;
    let current = refresh_ok(&h, &stolen.refresh).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;

    h.refresh(&stolen.refresh)
        .await
        .assert_error(401, "token_revoked");
    // Every token of that session is refused from now on...
    h.refresh(&current.refresh)
        .await
        .assert_error(401, "token_revoked");
    h.protected(&current.access)
        .await
        .assert_error(401, "token_revoked");
    h.protected(&stolen.access)
        .await
        .assert_error(401, "token_revoked");
    // ...the other session of the same user is not.
    assert_eq!(h.protected(&other_session.access).await.status, 200);
    refresh_ok(&h, &other_session.refresh).await;
}

async fn concurrent_refreshes_with_one_token_give_one_200(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let (a, b) = tokio::join!(h.refresh(&tokens.refresh), h.refresh(&tokens.refresh));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 401], "{a:?} {b:?}");
    let winner = if a.status == 200 { &a } else { &b };
    assert_eq!(h.protected(&tokens_of(winner).access).await.status, 200);
}

async fn logout_all_refuses_every_earlier_token_of_the_user_only(backend: Backend) {
    let h = backend.app().await;
    let (name, one) = h.user_with_tokens().await;
    let two = h.login_ok(&name, PASSWORD).await;
    let (_, bystander) = h.user_with_tokens().await;

    let r = h.with_token("POST", "/logout/all", &one.access, "").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.json["message"].is_string());
    for token in [&one.access, &two.access] {
        h.protected(token).await.assert_error(401, "token_revoked");
    }
    for token in [&one.refresh, &two.refresh] {
        h.refresh(token).await.assert_error(401, "token_revoked");
    }
    assert_eq!(h.protected(&bystander.access).await.status, 200);
    // Logging in again works at once.
    let again = h.login_ok(&name, PASSWORD).await;
    assert_eq!(h.protected(&again.access).await.status, 200);
    let r = h.with_token("GET", "/logout/all", &again.access, "").await;
    r.assert_error(405, "method_not_allowed");
}

/// More sessions than one BatchWriteItem takes (25 requests, and each session needs two).
const MANY_SESSIONS: usize = 30;

/// A user with [`MANY_SESSIONS`] sessions, all listed.
async fn user_with_many_sessions(h: &Harness) -> (String, Vec<Tokens>) {
    let (name, first) = h.user_with_tokens().await;
    let mut all = vec![first];
    for _ in 1..MANY_SESSIONS {
        all.push(h.login_ok(&name, PASSWORD).await);
    }
    let r = h.with_token("GET", "/sessions", &all[0].access, "").await;
    assert_eq!(r.json["sessions"].as_array().unwrap().len(), MANY_SESSIONS);
    (name, all)
}

async fn logout_all_ends_more_sessions_than_one_batch_holds(backend: Backend) {
    let h = backend.app().await;
    let (name, all) = user_with_many_sessions(&h).await;
    let r = h
        .with_token("POST", "/logout/all", &all[0].access, "")
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    for tokens in &all {
        h.assert_session_revoked(tokens).await;
    }
    assert!(h
        .app
        .sessions()
        .unwrap()
        .list(&name, now_secs())
        .await
        .unwrap()
        .is_empty());
    // A new login lists only itself.
    let again = h.login_ok(&name, PASSWORD).await;
    h.assert_only_current_session(&again.access).await;
}

async fn password_change_ends_more_sessions_than_one_batch_holds(backend: Backend) {
    // Unlike logout-all, no cutoff: only the sessions' own revocations refuse their tokens.
    let h = backend.app().await;
    let (_, all) = user_with_many_sessions(&h).await;
    let (here, others) = all.split_last().unwrap();
    let body =
        json!({"old_password": PASSWORD, "new_password": "a brand new passphrase"}).to_string();
    let r = h.with_token("POST", "/password", &here.access, &body).await;
    assert_eq!(r.status, 200, "{r:?}");
    for tokens in others {
        h.assert_session_revoked(tokens).await;
    }
    assert_eq!(h.protected(&here.access).await.status, 200);
    h.assert_only_current_session(&here.access).await;
}

async fn sessions_are_listed_and_ended(backend: Backend) {
    let h = backend.app().await;
    let (name, one) = h.user_with_tokens().await;
    let two = h.login_ok(&name, PASSWORD).await;
    let sid_one = h.claims(&one.access, TokenType::Access).sid;
    let sid_two = h.claims(&two.access, TokenType::Access).sid;

    let r = h.with_token("GET", "/sessions", &one.access, "").await;
    assert_eq!(r.status, 200, "{r:?}");
    let list = r.json["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    for s in list {
        for field in [
            "sid",
            "created_at",
            "last_refreshed_at",
            "expires_at",
            "user_agent",
            "source_ip",
            "current",
        ] {
            assert!(s.get(field).is_some(), "{field} missing in {s}");
        }
        assert_eq!(s["current"], s["sid"] == sid_one.as_str());
        assert_eq!(s["source_ip"], wristband_test_support::TEST_SOURCE_IP);
    }

    let path = format!("/sessions/{sid_two}");
    let r = h.with_token("DELETE", &path, &one.access, "").await;
    assert_eq!(r.status, 204, "{r:?}");
    h.assert_session_revoked(&two).await;
    assert_eq!(h.protected(&one.access).await.status, 200);

    let r = h.with_token("GET", "/sessions", &one.access, "").await;
    let list = r.json["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["sid"], sid_one.as_str());
    // Ending it again: it is gone.
    let r = h.with_token("DELETE", &path, &one.access, "").await;
    r.assert_error(404, "not_found");
    let r = h.with_token("POST", "/sessions", &one.access, "").await;
    r.assert_error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), "GET");
}

async fn ending_someone_elses_session_is_404(backend: Backend) {
    let h = backend.app().await;
    let (_, mine) = h.user_with_tokens().await;
    let (_, theirs) = h.user_with_tokens().await;
    let their_sid = h.claims(&theirs.access, TokenType::Access).sid;
    let path = format!("/sessions/{their_sid}");
    let r = h.with_token("DELETE", &path, &mine.access, "").await;
    r.assert_error(404, "not_found");
    assert_eq!(h.protected(&theirs.access).await.status, 200);
    let r = h
        .with_token("DELETE", "/sessions/no-such-sid", &mine.access, "")
        .await;
    r.assert_error(404, "not_found");
}

async fn password_change_needs_a_fresh_token_and_ends_other_sessions(backend: Backend) {
    let h = backend.app().await;
    let (name, here) = h.user_with_tokens().await;
    let elsewhere = h.login_ok(&name, PASSWORD).await;
    let body =
        json!({"old_password": PASSWORD, "new_password": "a brand new passphrase"}).to_string();

    // A token from /refresh is not fresh.
    let refreshed = refresh_ok(&h, &here.refresh).await;
    let r = h
        .with_token("POST", "/password", &refreshed.access, &body)
        .await;
    r.assert_error(401, "fresh_token_required");
    assert_eq!(r.message(), "Fresh token required");

    let wrong =
        json!({"old_password": "not my password", "new_password": "a brand new passphrase"})
            .to_string();
    let r = h
        .with_token("POST", "/password", &here.access, &wrong)
        .await;
    r.assert_error(401, "invalid_credentials");

    let r = h.with_token("POST", "/password", &here.access, &body).await;
    assert_eq!(r.status, 200, "{r:?}");
    // Other sessions end; this one goes on.
    h.assert_session_revoked(&elsewhere).await;
    assert_eq!(h.protected(&here.access).await.status, 200);
    // The new password works, the old one does not.
    h.login(&name, PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    h.login_ok(&name, "a brand new passphrase").await;
}

async fn password_change_validates_input(backend: Backend) {
    let h = backend.app().await;
    let (_, tokens) = h.user_with_tokens().await;
    let r = h
        .with_token(
            "POST",
            "/password",
            &tokens.access,
            r#"{"old_password": "x"}"#,
        )
        .await;
    r.assert_error(400, "invalid_request");
    assert_eq!(r.message(), "Missing new_password parameter");
    let weak = json!({"old_password": PASSWORD, "new_password": "short"}).to_string();
    let r = h
        .with_token("POST", "/password", &tokens.access, &weak)
        .await;
    r.assert_error(400, "weak_password");
    let r = h.call(request("POST", "/password", &[], "{}")).await;
    r.assert_error(401, "missing_token");
}
