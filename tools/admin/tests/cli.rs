//! The admin tool against DynamoDB Local (started by `make test`): roles set by the tool
//! are what the users table holds, for an existing user only; `users ...` changes accounts
//! the way `/admin/users` does.

use std::process::Command;
use std::sync::Arc;

use wristband_core::config::TableNames;
use wristband_core::ids::{now_secs, random_id};
use wristband_core::store::UserRegistry as _;
use wristband_core::store::{
    AccountStore, RevocationCheck, SessionRecord, SessionStore, UserRecord, UserStore,
};
use wristband_core::Claims;
use wristband_dynamodb::{ensure_tables, DynamoDbUsers, Tables};
use wristband_dynamodb_lite::env::AwsEnv;
use wristband_dynamodb_lite::tls::Roots;
use wristband_dynamodb_lite::{DynamoDbHttp, LiteRevokedTokens, Policy};
use wristband_test_support::{issued_pair, test_config};

fn admin(endpoint: &str, table: &str, args: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wristband-admin"))
        .args(args.split_whitespace())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("USERS_TABLE", table)
        .output()
        .expect("the admin binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn roles_are_listed_added_removed_and_set() {
    let endpoint = std::env::var("WRISTBAND_TEST_DYNAMODB_ENDPOINT")
        .expect("WRISTBAND_TEST_DYNAMODB_ENDPOINT: run through `make test`");
    std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
    let run: String = random_id()
        .unwrap()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let tables = TableNames {
        users: format!("admin-{run}-users"),
        revoked_tokens: format!("admin-{run}-revoked"),
        sessions: format!("admin-{run}-sessions"),
    };
    let client = wristband_dynamodb::client_from_env();
    ensure_tables(&client, &tables).await.unwrap();
    let users = DynamoDbUsers::new(client, tables.users.clone());
    let user = UserRecord {
        username: "alice".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        created_at: 1,
        roles: Vec::new(),
        creation_id: "admin-test".into(),
        email: None,
        email_verified: false,
        disabled: false,
        totp: None,
        totp_pending: None,
        recovery_codes: Vec::new(),
        passkeys: Vec::new(),
    };
    assert_eq!(
        users.create(&user).await.unwrap(),
        wristband_core::store::Created::Created
    );

    let table = &tables.users;
    assert_eq!(
        admin(&endpoint, table, "roles Alice add admin").1,
        "alice: admin\n"
    );
    assert_eq!(
        admin(&endpoint, table, "roles alice add ops").1,
        "alice: admin, ops\n"
    );
    assert_eq!(
        admin(&endpoint, table, "roles alice add ops").1,
        "alice: admin, ops\n"
    );
    assert_eq!(
        users.get("alice").await.unwrap().unwrap().roles,
        ["admin", "ops"]
    );
    assert_eq!(
        admin(&endpoint, table, "roles alice remove admin").1,
        "alice: ops\n"
    );
    assert_eq!(
        admin(&endpoint, table, "roles alice set a,b").1,
        "alice: a, b\n"
    );
    assert_eq!(admin(&endpoint, table, "roles alice").1, "alice: a, b\n");
    assert_eq!(users.get("alice").await.unwrap().unwrap().roles, ["a", "b"]);
    // The password hash and the rest of the item are untouched.
    assert_eq!(
        users.get("alice").await.unwrap().unwrap().password_hash,
        user.password_hash
    );

    let (ok, _, err) = admin(&endpoint, table, "roles nobody add admin");
    assert!(!ok);
    assert!(err.contains("no user nobody"), "{err}");
    let (ok, _, err) = admin(&endpoint, table, "roles alice add a,b");
    assert!(!ok);
    assert!(err.contains("usage") || err.contains("role"), "{err}");
}

/// `users ...` on the three tables of `tables`, with `env` added (or, for an empty value,
/// removed: nothing of the caller's MAIL_FROM leaks in).
fn users(
    endpoint: &str,
    tables: &TableNames,
    env: &[(&str, &str)],
    args: &str,
) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wristband-admin"));
    command
        .args(args.split_whitespace())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("USERS_TABLE", &tables.users)
        .env("REVOKED_TOKENS_TABLE", &tables.revoked_tokens)
        .env("SESSIONS_TABLE", &tables.sessions)
        .env_remove("MAIL_FROM")
        .env_remove("AWS_ENDPOINT_URL_SESV2");
    for (name, value) in env {
        if value.is_empty() {
            command.env_remove(name);
        } else {
            command.env(name, value);
        }
    }
    let out = command.output().expect("the admin binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn record(username: &str, email: Option<&str>) -> UserRecord {
    UserRecord {
        username: username.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        created_at: 1_795_348_800,
        roles: vec!["ops".into()],
        // Unique: DynamoDB takes a repeated transaction token as the same write.
        creation_id: random_id().unwrap(),
        email: email.map(str::to_owned),
        email_verified: email.is_some(),
        disabled: false,
        totp: None,
        totp_pending: None,
        recovery_codes: Vec::new(),
        passkeys: Vec::new(),
    }
}

/// A session as a login makes it: the claims of its access and refresh tokens.
async fn logged_in(
    sessions: &dyn SessionStore,
    config: &wristband_core::Config,
    username: &str,
) -> (Claims, Claims) {
    let pair = issued_pair(config, username, &[], true);
    let now = now_secs();
    sessions
        .create(&SessionRecord {
            username: username.into(),
            sid: pair.access.sid.clone(),
            created_at: now,
            last_refreshed_at: now,
            expires_at: pair.refresh.exp,
            user_agent: None,
            source_ip: None,
            refresh_jti: pair.refresh.jti.clone(),
        })
        .await
        .unwrap();
    (pair.access, pair.refresh)
}

#[tokio::test]
async fn users_are_listed_shown_disabled_enabled_logged_out_and_deleted() {
    let endpoint = std::env::var("WRISTBAND_TEST_DYNAMODB_ENDPOINT")
        .expect("WRISTBAND_TEST_DYNAMODB_ENDPOINT: run through `make test`");
    std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
    let run: String = random_id()
        .unwrap()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let tables = TableNames {
        users: format!("users-{run}-users"),
        revoked_tokens: format!("users-{run}-revoked"),
        sessions: format!("users-{run}-sessions"),
    };
    let client = wristband_dynamodb::client_from_env();
    ensure_tables(&client, &tables).await.unwrap();
    let db = Tables::new(client, tables.clone());
    let store = db.users();
    for (name, email) in [
        ("alice", Some("alice@example.com")),
        ("bob", None),
        ("carol", Some("carol@example.com")),
    ] {
        store.create(&record(name, email)).await.unwrap();
    }
    let sessions = db.sessions();
    let check = LiteRevokedTokens::new(
        Arc::new(
            DynamoDbHttp::new(
                AwsEnv::dynamodb_local(&endpoint),
                Roots::Platform,
                Policy::default(),
            )
            .unwrap(),
        ),
        tables.revoked_tokens.clone(),
    );
    let config = test_config();
    let none: &[(&str, &str)] = &[];

    // list: one line per user (in the table's order), no hash.
    let (ok, out, err) = users(&endpoint, &tables, none, "users list");
    assert!(ok, "{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    let order: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "alice  alice@example.com (verified)  roles: ops  created 2026-11-22  enabled",
            "bob  -  roles: ops  created 2026-11-22  enabled",
            "carol  carol@example.com (verified)  roles: ops  created 2026-11-22  enabled",
        ]
    );
    // --after: the users after that one, in the same order.
    let (ok, after, _) = users(
        &endpoint,
        &tables,
        none,
        &format!("users list --after {}", order[0].to_ascii_uppercase()),
    );
    assert!(ok);
    let rest: Vec<&str> = after
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(rest, order[1..]);

    // show: the user's JSON, as the endpoint answers it.
    let (ok, out, err) = users(&endpoint, &tables, none, "users show ALICE");
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["username"], "alice");
    assert_eq!(json["email"], "alice@example.com");
    assert_eq!(json["disabled"], false);
    assert!(!out.contains("argon2"));

    // disable: the flag, and every session ended at once (audit lines on stderr).
    let (access, refresh) = logged_in(sessions.as_ref(), &config, "alice").await;
    assert!(!check.is_revoked(&access, now_secs()).await.unwrap());
    let (ok, out, err) = users(&endpoint, &tables, none, "users disable Alice");
    assert!(ok, "{err}");
    assert_eq!(out, "alice: disabled; every session ended\n");
    let audit: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    assert_eq!(audit["audit"], "account_disabled");
    assert_eq!(audit["username"], "alice");
    assert_eq!(audit["actor"], "cli");
    assert!(store.get("alice").await.unwrap().unwrap().disabled);
    assert!(check.is_revoked(&access, now_secs()).await.unwrap());
    assert!(check.is_revoked(&refresh, now_secs()).await.unwrap());
    assert!(sessions.list("alice", now_secs()).await.unwrap().is_empty());
    let (_, out, _) = users(&endpoint, &tables, none, "users list");
    assert!(
        out.contains(
            "alice  alice@example.com (verified)  roles: ops  created 2026-11-22  disabled\n"
        ),
        "{out}"
    );

    // enable: the flag cleared, the old tokens still refused.
    let (ok, out, _) = users(&endpoint, &tables, none, "users enable alice");
    assert!(ok);
    assert_eq!(out, "alice: enabled\n");
    assert!(!store.get("alice").await.unwrap().unwrap().disabled);
    assert!(check.is_revoked(&access, now_secs()).await.unwrap());

    // logout-all: bob's sessions end, the account stays.
    let (access, _) = logged_in(sessions.as_ref(), &config, "bob").await;
    let (ok, out, _) = users(&endpoint, &tables, none, "users logout-all bob");
    assert!(ok);
    assert_eq!(out, "bob: All sessions revoked\n");
    assert!(check.is_revoked(&access, now_secs()).await.unwrap());
    assert!(store.get("bob").await.unwrap().is_some());

    // delete without MAIL_FROM: deleted, and the tool says no notice went out.
    let (access, _) = logged_in(sessions.as_ref(), &config, "alice").await;
    let (ok, out, err) = users(&endpoint, &tables, none, "users delete alice");
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "alice: deleted\nalice: no deletion notice sent to alice@example.com: MAIL_FROM is not set\n"
    );
    assert!(store.get("alice").await.unwrap().is_none());
    assert!(db
        .accounts()
        .find_by_email("alice@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(check.is_revoked(&access, now_secs()).await.unwrap());
    // The name and the address are free again.
    assert_eq!(
        store
            .create(&record("alice", Some("alice@example.com")))
            .await
            .unwrap(),
        wristband_core::store::Created::Created
    );

    // delete with MAIL_FROM and SES unreachable: deleted, and the failed notice is an error.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mail = [
        ("MAIL_FROM", "no-reply@wristband.test"),
        ("AWS_ENDPOINT_URL_SESV2", dead.as_str()),
    ];
    let (ok, out, err) = users(&endpoint, &tables, &mail, "users delete carol");
    assert!(!ok);
    assert_eq!(out, "");
    assert!(
        err.contains("carol: deleted, but the deletion notice could not be sent"),
        "{err}"
    );
    assert!(store.get("carol").await.unwrap().is_none());
    // No address, no notice: nothing to send.
    let (ok, out, err) = users(&endpoint, &tables, &mail, "users delete bob");
    assert!(ok, "{err}");
    assert_eq!(out, "bob: deleted\n");

    // Unknown users and bad command lines.
    for command in ["show", "disable", "enable", "logout-all", "delete"] {
        let (ok, out, err) = users(&endpoint, &tables, none, &format!("users {command} Nobody"));
        assert!(!ok && out.is_empty(), "{command}");
        assert!(err.contains("no user Nobody"), "{command}: {err}");
    }
    let (ok, _, err) = users(&endpoint, &tables, none, "users list --after a");
    assert!(!ok);
    assert!(err.contains("after"), "{err}");
    let (ok, _, err) = users(&endpoint, &tables, none, "users frobnicate alice");
    assert!(!ok);
    assert!(err.contains("usage"), "{err}");
}
