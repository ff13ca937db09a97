//! Administration (API.md "Administration"): `/admin/users` for a token with the `admin`
//! role, on the in-memory stores and on DynamoDB Local.

mod common;

use std::collections::BTreeMap;

use common::{unique_user, Backend, Harness, Resp, Tokens, PASSWORD};
use serde_json::Value;
use wristband_core::ids::now_secs;
use wristband_core::store::UserRecord;
use wristband_test_support::{json_request, request};

on_both_backends!(
    a_token_without_the_admin_role_is_insufficient_scope,
    unknown_usernames_are_not_found,
    the_list_pages_through_every_user_once_without_secrets,
    an_after_that_cannot_be_a_username_is_a_bad_request,
    show_answers_the_user_case_insensitively,
    disable_refuses_tokens_and_logins_until_enabled,
    logout_all_refuses_every_token_and_keeps_the_account,
    delete_removes_the_account_and_frees_the_name,
    routes_answer_only_their_methods,
);

/// A new user with the `admin` role, logged in (the role reaches tokens at login).
async fn admin(h: &Harness) -> (String, Tokens) {
    let name = unique_user();
    assert_eq!(h.register(&name, PASSWORD).await.status, 201);
    let set = h
        .app
        .users()
        .unwrap()
        .set_roles(&name, &["admin".to_owned()])
        .await
        .unwrap();
    assert!(set);
    let tokens = h.login_ok(&name, PASSWORD).await;
    (name, tokens)
}

async fn as_admin(h: &Harness, token: &str, method: &str, path: &str) -> Resp {
    h.with_token(method, path, token, "").await
}

/// A user's item, written straight to the store (no argon2 per user).
fn record(username: &str) -> UserRecord {
    UserRecord {
        username: username.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".to_owned(),
        created_at: now_secs(),
        roles: Vec::new(),
        // Unique: DynamoDB takes a repeated transaction token as the same write.
        creation_id: wristband_core::ids::random_id().unwrap(),
        email: None,
        email_verified: false,
        disabled: false,
        totp: None,
        totp_pending: None,
        recovery_codes: Vec::new(),
        passkeys: Vec::new(),
    }
}

/// The fields of a schema of openapi.json, each required and no other allowed.
fn documented(schema: &str) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("openapi.json")).unwrap();
    let schema = &doc["components"]["schemas"][schema];
    assert_eq!(schema["additionalProperties"], false, "{schema}");
    let mut required: Vec<String> = serde_json::from_value(schema["required"].clone()).unwrap();
    let mut all: Vec<String> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect();
    required.sort_unstable();
    all.sort_unstable();
    assert_eq!(required, all, "every field of {schema} is required");
    all
}

fn sorted_keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}

/// A user as administrators see it: API.md's fields (openapi.json's `User`) and no other,
/// never a hash, secret or code.
#[track_caller]
fn assert_user_fields(user: &Value) {
    assert_eq!(
        sorted_keys(user),
        [
            "created_at",
            "disabled",
            "email",
            "email_verified",
            "mfa",
            "passkeys",
            "roles",
            "username"
        ]
    );
    assert!(!user.to_string().contains("$argon2"), "{user}");
}

#[test]
fn the_documented_bodies_are_the_answered_ones() {
    assert_eq!(
        documented("User"),
        [
            "created_at",
            "disabled",
            "email",
            "email_verified",
            "mfa",
            "passkeys",
            "roles",
            "username"
        ]
    );
    assert_eq!(documented("UserList"), ["next", "users"]);
}

#[track_caller]
fn assert_user(r: &Resp, username: &str, disabled: bool) {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["username"], username, "{r:?}");
    assert_eq!(r.json["disabled"], disabled, "{r:?}");
    assert_user_fields(&r.json);
}

const ROUTES: [(&str, &str); 6] = [
    ("GET", "/admin/users"),
    ("GET", "/admin/users/{u}"),
    ("POST", "/admin/users/{u}/disable"),
    ("POST", "/admin/users/{u}/enable"),
    ("POST", "/admin/users/{u}/logout-all"),
    ("DELETE", "/admin/users/{u}"),
];

async fn a_token_without_the_admin_role_is_insufficient_scope(backend: Backend) {
    let h = backend.app().await;
    let (name, tokens) = h.user_with_tokens().await;
    // Another role is not the admin role.
    h.app
        .users()
        .unwrap()
        .set_roles(&name, &["ops".to_owned(), "administrator".to_owned()])
        .await
        .unwrap();
    let ops = h.login_ok(&name, PASSWORD).await;
    for (method, path) in ROUTES {
        let path = path.replace("{u}", &name);
        for token in [&tokens.access, &ops.access] {
            let r = as_admin(&h, token, method, &path).await;
            r.assert_error(403, "insufficient_scope");
            assert_eq!(
                r.header("www-authenticate"),
                "Bearer error=\"insufficient_scope\"",
                "{method} {path}"
            );
        }
        h.call(request(method, &path, &[], ""))
            .await
            .assert_error(401, "missing_token");
        as_admin(&h, &tokens.refresh, method, &path)
            .await
            .assert_error(401, "invalid_token");
    }
    // Nothing happened to the account.
    assert_eq!(h.protected(&tokens.access).await.status, 200);
}

async fn unknown_usernames_are_not_found(backend: Backend) {
    let h = backend.app().await;
    let (_, root) = admin(&h).await;
    let (nobody, long) = (unique_user(), "x".repeat(65));
    for name in [nobody.as_str(), "ab", long.as_str(), "a%20b", "%FF%FE"] {
        for (method, path) in &ROUTES[1..] {
            let path = path.replace("{u}", name);
            as_admin(&h, &root.access, method, &path)
                .await
                .assert_error(404, "not_found");
        }
    }
}

async fn the_list_pages_through_every_user_once_without_secrets(backend: Backend) {
    let h = backend.app().await;
    let (root_name, root) = admin(&h).await;
    // 120 users of this test (others' users may share the table): at least two pages.
    let prefix = unique_user();
    let users = h.app.registry().unwrap();
    let ours: Vec<String> = (0..120).map(|i| format!("{prefix}-{i:03}")).collect();
    for name in &ours {
        users.create(&record(name)).await.unwrap();
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            None => "/admin/users".to_owned(),
            Some(after) => format!("/admin/users?after={after}"),
        };
        let r = as_admin(&h, &root.access, "GET", &path).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(sorted_keys(&r.json), ["next", "users"]);
        let page = r.json["users"].as_array().expect("users");
        assert!(page.len() <= 100, "{} users on a page", page.len());
        for user in page {
            assert_user_fields(user);
            let name = user["username"].as_str().unwrap().to_owned();
            *seen.entry(name).or_default() += 1;
        }
        pages += 1;
        match &r.json["next"] {
            Value::Null => break,
            Value::String(next) => after = Some(next.clone()),
            other => panic!("next: {other}"),
        }
        assert!(pages < 1000, "the list does not end");
    }
    assert!(pages >= 2, "{pages} pages");
    for name in ours.iter().chain([&root_name]) {
        assert_eq!(seen.get(name), Some(&1), "{name} listed once");
    }
    assert!(seen.values().all(|n| *n == 1), "every user once");
}

async fn an_after_that_cannot_be_a_username_is_a_bad_request(backend: Backend) {
    let h = backend.app().await;
    let (_, root) = admin(&h).await;
    for query in [
        "after=",
        "after=a",
        "after=a%20b",
        "after=%FF",
        "after=ann&after=bob",
    ] {
        let r = as_admin(&h, &root.access, "GET", &format!("/admin/users?{query}")).await;
        r.assert_error(400, "invalid_request");
        assert!(r.message().contains("after"), "{query}: {r:?}");
    }
    // A valid name that is nobody's is a place in the order like any other.
    let r = as_admin(&h, &root.access, "GET", "/admin/users?after=zzzzzzzz").await;
    assert_eq!(r.status, 200, "{r:?}");
}

async fn show_answers_the_user_case_insensitively(backend: Backend) {
    let h = backend.app().await;
    let (_, root) = admin(&h).await;
    let (name, _) = h.user_with_tokens().await;
    let r = as_admin(
        &h,
        &root.access,
        "GET",
        &format!("/admin/users/{}", name.to_ascii_uppercase()),
    )
    .await;
    assert_user(&r, &name, false);
    assert_eq!(r.json["roles"], serde_json::json!([]));
    assert_eq!(r.json["email"], Value::Null);
    // A name with `@`, as encodeURIComponent writes it.
    let at = format!("{name}@example.com");
    assert_eq!(h.register(&at, PASSWORD).await.status, 201);
    let encoded = at.replace('@', "%40");
    let r = as_admin(&h, &root.access, "GET", &format!("/admin/users/{encoded}")).await;
    assert_user(&r, &at, false);
}

async fn disable_refuses_tokens_and_logins_until_enabled(backend: Backend) {
    let h = backend.app().await;
    let (_, root) = admin(&h).await;
    let (name, first) = h.user_with_tokens().await;
    let second = h.login_ok(&name, PASSWORD).await;

    let r = as_admin(
        &h,
        &root.access,
        "POST",
        &format!("/admin/users/{name}/disable"),
    )
    .await;
    assert_user(&r, &name, true);
    // At once, refresh included.
    h.assert_session_revoked(&first).await;
    h.assert_session_revoked(&second).await;
    h.login(&name, PASSWORD)
        .await
        .assert_error(403, "account_disabled");
    assert_eq!(h.login(&name, PASSWORD).await.message(), "Account disabled");
    h.login(&name, "wrong password entirely")
        .await
        .assert_error(401, "invalid_credentials");
    let r = as_admin(&h, &root.access, "GET", &format!("/admin/users/{name}")).await;
    assert_user(&r, &name, true);
    // Disabling twice is the same answer.
    let r = as_admin(
        &h,
        &root.access,
        "POST",
        &format!("/admin/users/{name}/disable"),
    )
    .await;
    assert_user(&r, &name, true);

    let r = as_admin(
        &h,
        &root.access,
        "POST",
        &format!("/admin/users/{name}/enable"),
    )
    .await;
    assert_user(&r, &name, false);
    let third = h.login_ok(&name, PASSWORD).await;
    assert_eq!(h.protected(&third.access).await.status, 200);
    assert_eq!(h.refresh(&third.refresh).await.status, 200);
    // Enabling revives no earlier token.
    h.assert_session_revoked(&first).await;
    h.assert_session_revoked(&second).await;
}

async fn logout_all_refuses_every_token_and_keeps_the_account(backend: Backend) {
    let h = backend.app().await;
    let (_, root) = admin(&h).await;
    let (name, first) = h.user_with_tokens().await;
    let second = h.login_ok(&name, PASSWORD).await;
    let r = as_admin(
        &h,
        &root.access,
        "POST",
        &format!("/admin/users/{name}/logout-all"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json,
        serde_json::json!({"message": "All sessions revoked"})
    );
    h.assert_session_revoked(&first).await;
    h.assert_session_revoked(&second).await;
    // The account is untouched: a login works at once.
    let third = h.login_ok(&name, PASSWORD).await;
    assert_eq!(h.protected(&third.access).await.status, 200);
    // The administrator's own tokens are not the user's.
    assert_eq!(h.protected(&root.access).await.status, 200);
}

async fn delete_removes_the_account_and_frees_the_name(backend: Backend) {
    let h = backend.app().await;
    let (_, root) = admin(&h).await;
    let name = unique_user();
    let email = format!("{name}@example.com");
    let body = serde_json::json!({"username": name, "password": PASSWORD, "email": email});
    let r = h.call(json_request("POST", "/register", &body)).await;
    assert_eq!(r.status, 201, "{r:?}");
    let tokens = h.login_ok(&name, PASSWORD).await;
    let r = as_admin(&h, &root.access, "DELETE", &format!("/admin/users/{name}")).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(r.json, Value::Null);
    h.assert_session_revoked(&tokens).await;
    // The notice went to the account's address.
    assert_eq!(h.last_mail(&email).subject, "Your account was deleted");
    as_admin(&h, &root.access, "GET", &format!("/admin/users/{name}"))
        .await
        .assert_error(404, "not_found");
    as_admin(&h, &root.access, "DELETE", &format!("/admin/users/{name}"))
        .await
        .assert_error(404, "not_found");
    h.login(&name, PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    // The name and the address can be registered again, and new tokens work at once.
    let r = h.call(json_request("POST", "/register", &body)).await;
    assert_eq!(r.status, 201, "{r:?}");
    let again = h.login_ok(&name, PASSWORD).await;
    assert_eq!(h.protected(&again.access).await.status, 200);
    h.assert_session_revoked(&tokens).await;
}

async fn routes_answer_only_their_methods(backend: Backend) {
    let h = backend.app().await;
    let (name, root) = admin(&h).await;
    let r = as_admin(
        &h,
        &root.access,
        "GET",
        &format!("/admin/users/{name}/disable"),
    )
    .await;
    r.assert_error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), "POST");
    let r = as_admin(&h, &root.access, "PUT", &format!("/admin/users/{name}")).await;
    r.assert_error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), "GET, DELETE");
    as_admin(
        &h,
        &root.access,
        "GET",
        &format!("/admin/users/{name}/other"),
    )
    .await
    .assert_error(404, "not_found");
}
