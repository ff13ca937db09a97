//! The admin tool against DynamoDB Local (started by `make test`): roles set by the tool
//! are what the users table holds, for an existing user only.

use std::process::Command;

use wristband_core::config::TableNames;
use wristband_core::ids::random_id;
use wristband_core::store::{UserRecord, UserStore};
use wristband_dynamodb::{ensure_tables, DynamoDbUsers};

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
