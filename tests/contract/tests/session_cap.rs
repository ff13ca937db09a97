//! Sessions per account (API.md): at most MAX_SESSIONS_PER_USER live sessions, the least
//! recently used ended first by the login that would pass the cap, on the in-memory
//! stores and on DynamoDB Local.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{tokens_of, unique_user, Backend, Harness, Tokens, PASSWORD};
use wristband_core::ids::now_secs;
use wristband_core::TokenType;

on_both_backends!(
    the_cap_ends_the_least_recently_used_sessions,
    racing_logins_pass_the_cap_by_their_number_until_the_next_login,
    password_change_on_a_full_account_ends_every_other_session,
    a_cap_of_one_keeps_only_the_newest_login,
);

/// Session timestamps are whole seconds: a pause makes "before" and "after" distinct.
async fn next_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

async fn listed(h: &Harness, access: &str) -> Vec<serde_json::Value> {
    let r = h.with_token("GET", "/sessions", access, "").await;
    assert_eq!(r.status, 200, "{r:?}");
    r.json["sessions"].as_array().unwrap().clone()
}

async fn registered(h: &Harness) -> String {
    let name = unique_user();
    assert_eq!(h.register(&name, PASSWORD).await.status, 201);
    name
}

async fn the_cap_ends_the_least_recently_used_sessions(backend: Backend) {
    let h = backend.app().await;
    assert_eq!(h.app.config.max_sessions_per_user, 100);
    let name = registered(&h).await;
    let mut logins: Vec<Tokens> = Vec::new();
    for n in 1..=130 {
        logins.push(h.login_ok(&name, PASSWORD).await);
        // Logins 1-3, then 4-60, then the refresh of the 2nd, then 61-130, each in
        // later seconds than the group before.
        if n == 3 || n == 60 {
            next_second().await;
        }
        if n == 60 {
            let r = h.refresh(&logins[1].refresh).await;
            assert_eq!(r.status, 200, "{r:?}");
            logins[1] = tokens_of(&r);
            next_second().await;
        }
    }
    let newest = &logins[129];
    let list = listed(&h, &newest.access).await;
    assert_eq!(list.len(), 100);
    // Most recently used first (whole seconds: the newest login ties with those of its
    // second).
    let used = |s: &serde_json::Value| {
        (
            s["last_refreshed_at"].as_u64().unwrap(),
            s["created_at"].as_u64().unwrap(),
        )
    };
    assert!(list.windows(2).all(|w| used(&w[0]) >= used(&w[1])));
    let current = list.iter().find(|s| s["current"] == true).expect("listed");
    assert_eq!(used(current), used(&list[0]));
    // 30 sessions were ended: the 1st and the 3rd among them, tokens refused as revoked.
    h.assert_session_revoked(&logins[0]).await;
    h.assert_session_revoked(&logins[2]).await;
    // The 2nd was used after logins 3..60: it outlives them.
    assert_eq!(h.protected(&logins[1].access).await.status, 200);
    let sid_of = |t: &Tokens| h.claims(&t.access, TokenType::Access).sid;
    assert!(list.iter().any(|s| s["sid"] == sid_of(&logins[1])));
    // Every login since the 61st is alive, the newest too.
    for tokens in &logins[60..] {
        assert_eq!(h.protected(&tokens.access).await.status, 200);
    }
    assert!(!list.iter().any(|s| s["sid"] == sid_of(&logins[0])));
    // Exactly the 30 least recently used are gone: 1, 3 and 28 of 4..60.
    let alive_early = logins[3..60]
        .iter()
        .filter(|t| list.iter().any(|s| s["sid"] == sid_of(t)))
        .count();
    assert_eq!(alive_early, 57 - 28);
}

async fn racing_logins_pass_the_cap_by_their_number_until_the_next_login(backend: Backend) {
    let h = Arc::new(
        backend
            .app_with(|config| config.max_sessions_per_user = 10)
            .await,
    );
    let name = registered(&h).await;
    for _ in 0..10 {
        h.login_ok(&name, PASSWORD).await;
    }
    let racing: Vec<_> = (0..20)
        .map(|_| {
            let (h, name) = (h.clone(), name.clone());
            tokio::spawn(async move { h.login(&name, PASSWORD).await })
        })
        .collect();
    let mut last = None;
    for task in racing {
        let r = task.await.unwrap();
        assert_eq!(r.status, 200, "{r:?}");
        last = Some(tokens_of(&r));
    }
    let stored = |h: Arc<Harness>, name: String| async move {
        h.app
            .sessions()
            .unwrap()
            .list(&name, now_secs())
            .await
            .unwrap()
            .len()
    };
    let after_race = stored(h.clone(), name.clone()).await;
    assert!((10..=10 + 20).contains(&after_race), "{after_race}");
    // Listing shows at most the cap even now.
    assert!(listed(&h, &last.unwrap().access).await.len() <= 10);
    // The next login brings the account back to the cap.
    let next = h.login_ok(&name, PASSWORD).await;
    assert_eq!(stored(h.clone(), name.clone()).await, 10);
    assert_eq!(h.protected(&next.access).await.status, 200);
}

async fn password_change_on_a_full_account_ends_every_other_session(backend: Backend) {
    let h = backend.app().await;
    let name = registered(&h).await;
    let mut logins = Vec::new();
    for _ in 0..100 {
        logins.push(h.login_ok(&name, PASSWORD).await);
    }
    let current = logins.pop().unwrap();
    let started = std::time::Instant::now();
    let body =
        serde_json::json!({"old_password": PASSWORD, "new_password": "another long passphrase"});
    let r = h
        .with_token("POST", "/password", &current.access, &body.to_string())
        .await;
    eprintln!("password change on a full account: {:?}", started.elapsed());
    assert_eq!(r.status, 200, "{r:?}");
    for tokens in &logins {
        h.protected(&tokens.access)
            .await
            .assert_error(401, "token_revoked");
    }
    h.refresh(&logins[0].refresh)
        .await
        .assert_error(401, "token_revoked");
    h.assert_only_current_session(&current.access).await;
}

async fn a_cap_of_one_keeps_only_the_newest_login(backend: Backend) {
    let h = backend
        .app_with(|config| config.max_sessions_per_user = 1)
        .await;
    let name = registered(&h).await;
    let first = h.login_ok(&name, PASSWORD).await;
    let second = h.login_ok(&name, PASSWORD).await;
    h.assert_session_revoked(&first).await;
    h.assert_only_current_session(&second.access).await;
}
