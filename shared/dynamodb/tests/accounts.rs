//! Accounts by email against DynamoDB Local (started by `make test`): address claims,
//! deletion and listing on the users table, one-time tokens and rate limits on the
//! revoked-tokens table. Each test has tables of its own.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use wristband_core::config::TableNames;
use wristband_core::ids::random_id;
use wristband_core::store::UserRegistry as _;
use wristband_core::store::{
    AccountStore, Created, EmailChange, OneTimeToken, OneTimeTokenStore, Purpose, RateLimitStore,
    UserRecord, UserStore,
};
use wristband_dynamodb::{ensure_tables, Tables};

const ENDPOINT_VAR: &str = "WRISTBAND_TEST_DYNAMODB_ENDPOINT";

fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!("{ENDPOINT_VAR} is not set: run the tests with `make test`, which starts DynamoDB Local")
    })
}

/// A client like production's (its timeouts and retries) on fresh tables.
async fn tables() -> Tables {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("dummy", "dummy", None, None, "tests"))
        .timeout_config(wristband_dynamodb::timeouts())
        .retry_config(wristband_dynamodb::retries())
        .http_client(wristband_dynamodb::https_client())
        .build();
    let client = Client::from_conf(conf);
    let run = id().to_ascii_lowercase();
    let names = TableNames {
        users: format!("accounts-{run}-users"),
        revoked_tokens: format!("accounts-{run}-revoked"),
        sessions: format!("accounts-{run}-sessions"),
    };
    ensure_tables(&client, &names).await.unwrap();
    Tables::new(client, names)
}

/// A random id of letters and digits only.
fn id() -> String {
    random_id()
        .unwrap()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

fn user(username: &str, email: Option<&str>) -> UserRecord {
    UserRecord {
        username: username.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        created_at: 1_800_000_000,
        roles: Vec::new(),
        creation_id: id(),
        email: email.map(str::to_owned),
        email_verified: false,
        disabled: false,
        totp: None,
        totp_pending: None,
        recovery_codes: Vec::new(),
        passkeys: Vec::new(),
    }
}

/// Every item of `table`, as its attributes' string and number values.
async fn scan(tables: &Tables, table: &str) -> Vec<HashMap<String, String>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = tables
            .client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for item in out.items() {
            items.push(
                item.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            AttributeValue::S(s) | AttributeValue::N(s) => s.clone(),
                            other => format!("{other:?}"),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            );
        }
        match out.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return items,
        }
    }
}

/// Whether any item of `table` names `text` in any attribute (the key included).
async fn mentions(tables: &Tables, table: &str, text: &str) -> bool {
    scan(tables, table)
        .await
        .iter()
        .any(|item| item.values().any(|v| v.contains(text)))
}

#[tokio::test]
async fn an_address_belongs_to_one_account() {
    let tables = tables().await;
    let users = tables.users();
    // Two registrations racing for one address under different names: one wins.
    for round in 0..10 {
        let email = format!("race{round}@example.com");
        let mut racing = JoinSet::new();
        for name in ["alpha", "beta"] {
            let users = users.clone();
            let record = user(&format!("{name}{round}"), Some(&email));
            racing.spawn(async move { users.create(&record).await.unwrap() });
        }
        let mut outcomes = racing.join_all().await;
        outcomes.sort_by_key(|c| format!("{c:?}"));
        assert_eq!(outcomes, [Created::Created, Created::EmailTaken], "{email}");
        let owner = users.find_by_email(&email).await.unwrap().unwrap();
        assert!(owner.username.ends_with(&round.to_string()));
    }

    let alice = user("alice", Some("alice@example.com"));
    assert_eq!(users.create(&alice).await.unwrap(), Created::Created);
    // Its own write again (a retry that had landed): still created.
    assert_eq!(users.create(&alice).await.unwrap(), Created::Created);
    // Another registration of the name, with or without an address.
    let again = user("alice", Some("other@example.com"));
    assert_eq!(users.create(&again).await.unwrap(), Created::UsernameTaken);
    assert_eq!(
        users.create(&user("alice", None)).await.unwrap(),
        Created::UsernameTaken
    );
    assert_eq!(
        users
            .create(&user("bob", Some("alice@example.com")))
            .await
            .unwrap(),
        Created::EmailTaken
    );
    // Nothing of the refused ones was written.
    assert!(users.get("bob").await.unwrap().is_none());
    assert!(users
        .find_by_email("other@example.com")
        .await
        .unwrap()
        .is_none());

    let found = users.find_by_email("alice@example.com").await.unwrap();
    assert_eq!(found, Some(alice.clone()));
    assert!(users
        .find_by_email("nobody@example.com")
        .await
        .unwrap()
        .is_none());
    // A claim's key is no user.
    assert!(users
        .get("email#alice@example.com")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn an_address_is_verified_only_while_it_is_the_accounts() {
    let tables = tables().await;
    let accounts = tables.accounts();
    accounts
        .create(&user("carol", Some("carol@example.com")))
        .await
        .unwrap();
    assert!(!accounts
        .mark_email_verified("carol", "old@example.com")
        .await
        .unwrap());
    assert!(!accounts.get("carol").await.unwrap().unwrap().email_verified);
    assert!(!accounts
        .mark_email_verified("nobody", "carol@example.com")
        .await
        .unwrap());
    assert!(accounts
        .mark_email_verified("carol", "carol@example.com")
        .await
        .unwrap());
    assert!(accounts.get("carol").await.unwrap().unwrap().email_verified);
    // Again: still its address, still true.
    assert!(accounts
        .mark_email_verified("carol", "carol@example.com")
        .await
        .unwrap());
    // The user without an address has nothing to verify, and no user appears.
    accounts.create(&user("dave", None)).await.unwrap();
    assert!(!accounts
        .mark_email_verified("dave", "dave@example.com")
        .await
        .unwrap());
    assert!(!accounts
        .mark_email_verified("erin", "erin@example.com")
        .await
        .unwrap());
    assert!(accounts.get("erin").await.unwrap().is_none());
}

#[tokio::test]
async fn changing_the_address_moves_its_claim() {
    let tables = tables().await;
    let accounts = tables.accounts();
    accounts
        .create(&user("frank", Some("frank@example.com")))
        .await
        .unwrap();
    accounts
        .create(&user("grace", Some("grace@example.com")))
        .await
        .unwrap();

    assert_eq!(
        accounts
            .change_email("frank", "frank@new.example")
            .await
            .unwrap(),
        EmailChange::Changed
    );
    let frank = accounts.get("frank").await.unwrap().unwrap();
    assert_eq!(frank.email.as_deref(), Some("frank@new.example"));
    assert!(frank.email_verified);
    assert_eq!(
        accounts
            .find_by_email("frank@new.example")
            .await
            .unwrap()
            .map(|u| u.username),
        Some("frank".to_owned())
    );
    // The old address is free: nobody has it, and a new account may take it.
    assert!(accounts
        .find_by_email("frank@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(!mentions(&tables, &tables.names.users, "frank@example.com").await);
    assert_eq!(
        accounts
            .create(&user("heidi", Some("frank@example.com")))
            .await
            .unwrap(),
        Created::Created
    );

    // Another account's address: nothing changes.
    assert_eq!(
        accounts
            .change_email("frank", "grace@example.com")
            .await
            .unwrap(),
        EmailChange::Taken
    );
    assert_eq!(accounts.get("frank").await.unwrap().unwrap(), frank);
    assert_eq!(
        accounts
            .find_by_email("grace@example.com")
            .await
            .unwrap()
            .map(|u| u.username),
        Some("grace".to_owned())
    );
    // Its own address again: still changed (and verified).
    assert_eq!(
        accounts
            .change_email("frank", "frank@new.example")
            .await
            .unwrap(),
        EmailChange::Changed
    );
    assert_eq!(
        accounts
            .change_email("nobody", "nobody@example.com")
            .await
            .unwrap(),
        EmailChange::NoUser
    );
    assert!(!mentions(&tables, &tables.names.users, "nobody").await);

    // A user without an address gets one.
    accounts.create(&user("ivan", None)).await.unwrap();
    assert_eq!(
        accounts
            .change_email("ivan", "ivan@example.com")
            .await
            .unwrap(),
        EmailChange::Changed
    );
    assert_eq!(
        accounts
            .find_by_email("ivan@example.com")
            .await
            .unwrap()
            .map(|u| u.username),
        Some("ivan".to_owned())
    );
}

#[tokio::test]
async fn concurrent_changes_leave_one_address_claimed() {
    let tables = tables().await;
    let accounts = tables.accounts();
    accounts
        .create(&user("judy", Some("judy@example.com")))
        .await
        .unwrap();
    let mut racing = JoinSet::new();
    for i in 0..5 {
        let accounts = accounts.clone();
        racing.spawn(async move {
            accounts
                .change_email("judy", &format!("judy{i}@example.com"))
                .await
                .unwrap()
        });
    }
    for outcome in racing.join_all().await {
        assert_eq!(outcome, EmailChange::Changed);
    }
    // Whichever won, only its address is claimed, by judy.
    let email = accounts.get("judy").await.unwrap().unwrap().email.unwrap();
    let claims: Vec<String> = scan(&tables, &tables.names.users)
        .await
        .into_iter()
        .filter_map(|item| item.get("owner").cloned().map(|_| item["username"].clone()))
        .collect();
    assert_eq!(claims, [format!("email#{email}")]);
}

#[tokio::test]
async fn deleting_a_user_frees_its_name_and_address() {
    let tables = tables().await;
    let accounts = tables.accounts();
    accounts
        .create(&user("mallory", Some("mallory@example.com")))
        .await
        .unwrap();
    accounts
        .create(&user("niaj", Some("niaj@example.com")))
        .await
        .unwrap();
    accounts.create(&user("olivia", None)).await.unwrap();

    assert!(accounts.delete("mallory").await.unwrap());
    assert!(!accounts.delete("mallory").await.unwrap());
    assert!(accounts.get("mallory").await.unwrap().is_none());
    assert!(!mentions(&tables, &tables.names.users, "mallory").await);
    // The others are untouched.
    assert!(accounts
        .find_by_email("niaj@example.com")
        .await
        .unwrap()
        .is_some());
    assert!(accounts.delete("olivia").await.unwrap());
    assert!(!mentions(&tables, &tables.names.users, "olivia").await);
    assert_eq!(scan(&tables, &tables.names.users).await.len(), 2);

    // Name and address can be registered again.
    let again = user("mallory", Some("mallory@example.com"));
    assert_eq!(accounts.create(&again).await.unwrap(), Created::Created);
    assert_eq!(
        accounts.find_by_email("mallory@example.com").await.unwrap(),
        Some(again)
    );
    assert!(!accounts.delete("nobody").await.unwrap());
    assert!(!accounts.delete("email#niaj@example.com").await.unwrap());
    assert!(accounts
        .find_by_email("niaj@example.com")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn disabling_round_trips() {
    let tables = tables().await;
    let accounts = tables.accounts();
    let peggy = user("peggy", Some("peggy@example.com"));
    accounts.create(&peggy).await.unwrap();

    let disabled = accounts.set_disabled("peggy", true).await.unwrap().unwrap();
    assert!(disabled.disabled);
    assert_eq!(
        disabled,
        UserRecord {
            disabled: true,
            ..peggy.clone()
        }
    );
    assert!(accounts.get("peggy").await.unwrap().unwrap().disabled);
    let enabled = accounts
        .set_disabled("peggy", false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(enabled, peggy);
    assert!(accounts
        .set_disabled("nobody", true)
        .await
        .unwrap()
        .is_none());
    assert!(accounts.get("nobody").await.unwrap().is_none());
    assert!(accounts
        .set_disabled("email#peggy@example.com", true)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn listing_pages_through_every_user_once() {
    let tables = tables().await;
    let accounts = tables.accounts();
    // Ten at a time: 250 transactions at once overrun DynamoDB Local's answers on a
    // loaded machine (the client's 1.5 s attempts), which is not what this tests.
    for batch in (0..250).collect::<Vec<_>>().chunks(10) {
        let mut created = JoinSet::new();
        for &i in batch {
            let accounts = accounts.clone();
            created.spawn(async move {
                // Most with an address (a claim item beside the user), some without.
                let email = (i % 5 != 0).then(|| format!("user{i}@example.com"));
                let record = user(&format!("user{i:03}"), email.as_deref());
                assert_eq!(accounts.create(&record).await.unwrap(), Created::Created);
            });
        }
        created.join_all().await;
    }

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = accounts.list(after.as_deref(), 100).await.unwrap();
        pages += 1;
        assert!(page.users.len() <= 100);
        for u in &page.users {
            assert!(u.username.starts_with("user"), "{}", u.username);
        }
        seen.extend(page.users.into_iter().map(|u| u.username));
        match page.next {
            Some(next) => {
                assert_eq!(seen.last(), Some(&next));
                after = Some(next);
            }
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert!((3..=4).contains(&pages), "{pages} pages");
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "a user listed twice");
    let all: HashSet<String> = (0..250).map(|i| format!("user{i:03}")).collect();
    assert_eq!(distinct, all.iter().collect());

    // Small pages too, and no page at all.
    let page = accounts.list(None, 7).await.unwrap();
    assert_eq!(page.users.len(), 7);
    let rest = accounts.list(page.next.as_deref(), 300).await.unwrap();
    assert_eq!(rest.users.len(), 243);
    assert_eq!(rest.next, None);
    assert_eq!(accounts.list(None, 0).await.unwrap().users, []);
    // An empty table.
    let empty = self::tables()
        .await
        .accounts()
        .list(None, 100)
        .await
        .unwrap();
    assert!(empty.users.is_empty() && empty.next.is_none());
}

fn token(purpose: Purpose, username: &str, expires_at: u64) -> OneTimeToken {
    OneTimeToken {
        purpose,
        username: username.into(),
        email: format!("{username}@example.com"),
        expires_at,
    }
}

const NOW: u64 = 1_800_000_000;

#[tokio::test]
async fn a_one_time_token_is_spent_once() {
    let tables = tables().await;
    let tokens = tables.one_time_tokens();
    let verify = token(Purpose::VerifyEmail, "alice", NOW + 600);
    tokens.issue("h1", &verify).await.unwrap();
    assert_eq!(
        tokens.spend("h1", &Purpose::ALL, NOW).await.unwrap(),
        Some(verify.clone())
    );
    assert_eq!(tokens.spend("h1", &Purpose::ALL, NOW).await.unwrap(), None);
    assert_eq!(
        tokens.spend("unknown", &Purpose::ALL, NOW).await.unwrap(),
        None
    );

    // Expired: at its expiry and after, nobody spends it.
    tokens.issue("h2", &verify).await.unwrap();
    assert_eq!(
        tokens.spend("h2", &Purpose::ALL, NOW + 600).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.spend("h2", &Purpose::ALL, NOW + 601).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.spend("h2", &Purpose::ALL, NOW + 599).await.unwrap(),
        Some(verify.clone())
    );

    // Presented for another purpose: refused and left as it is.
    tokens.issue("h3", &verify).await.unwrap();
    assert_eq!(
        tokens
            .spend("h3", &[Purpose::ResetPassword], NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tokens
            .spend("h3", &[Purpose::VerifyEmail], NOW)
            .await
            .unwrap(),
        Some(verify)
    );
}

#[tokio::test]
async fn a_newer_token_replaces_the_older_of_its_purpose_only() {
    let tables = tables().await;
    let tokens = tables.one_time_tokens();
    let reset = token(Purpose::ResetPassword, "bob", NOW + 600);
    let verify = token(Purpose::VerifyEmail, "bob", NOW + 86400);
    let other = token(Purpose::ResetPassword, "carol", NOW + 600);
    tokens.issue("old", &reset).await.unwrap();
    tokens.issue("verify", &verify).await.unwrap();
    tokens.issue("carol", &other).await.unwrap();
    tokens.issue("new", &reset).await.unwrap();

    assert_eq!(tokens.spend("old", &Purpose::ALL, NOW).await.unwrap(), None);
    assert_eq!(
        tokens.spend("new", &Purpose::ALL, NOW).await.unwrap(),
        Some(reset.clone())
    );
    assert_eq!(
        tokens.spend("verify", &Purpose::ALL, NOW).await.unwrap(),
        Some(verify)
    );
    assert_eq!(
        tokens.spend("carol", &Purpose::ALL, NOW).await.unwrap(),
        Some(other)
    );
    // Issuing one hash twice keeps it.
    tokens.issue("same", &reset).await.unwrap();
    tokens.issue("same", &reset).await.unwrap();
    assert_eq!(
        tokens.spend("same", &Purpose::ALL, NOW).await.unwrap(),
        Some(reset)
    );
    // Nothing left behind: spent and replaced tokens are gone with their slots.
    let left = scan(&tables, &tables.names.revoked_tokens).await;
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn of_concurrent_spends_one_wins() {
    let tables = tables().await;
    let tokens = tables.one_time_tokens();
    for round in 0..3 {
        let hash = format!("race{round}");
        let issued = token(Purpose::ChangeEmail, "dave", NOW + 600);
        tokens.issue(&hash, &issued).await.unwrap();
        let mut racing = JoinSet::new();
        for _ in 0..20 {
            let tokens = tokens.clone();
            let hash = hash.clone();
            racing.spawn(async move { tokens.spend(&hash, &Purpose::ALL, NOW).await.unwrap() });
        }
        let spent: Vec<OneTimeToken> = racing.join_all().await.into_iter().flatten().collect();
        assert_eq!(spent, [issued], "round {round}");
    }
}

#[tokio::test]
async fn removing_a_users_tokens_leaves_none() {
    let tables = tables().await;
    let tokens = tables.one_time_tokens();
    for (i, purpose) in Purpose::ALL.into_iter().enumerate() {
        tokens
            .issue(&format!("erin-old{i}"), &token(purpose, "erin", NOW + 600))
            .await
            .unwrap();
        tokens
            .issue(&format!("erin{i}"), &token(purpose, "erin", NOW + 600))
            .await
            .unwrap();
    }
    let frank = token(Purpose::VerifyEmail, "frank", NOW + 600);
    tokens.issue("frank", &frank).await.unwrap();

    tokens.remove_all("erin").await.unwrap();
    tokens.remove_all("nobody").await.unwrap();
    for i in 0..Purpose::ALL.len() {
        assert_eq!(
            tokens
                .spend(&format!("erin{i}"), &Purpose::ALL, NOW)
                .await
                .unwrap(),
            None
        );
    }
    let left = scan(&tables, &tables.names.revoked_tokens).await;
    assert!(
        !left
            .iter()
            .any(|item| item.values().any(|v| v.contains("erin"))),
        "{left:?}"
    );
    assert_eq!(left.len(), 2, "frank's token and slot: {left:?}");
    assert_eq!(
        tokens.spend("frank", &Purpose::ALL, NOW).await.unwrap(),
        Some(frank)
    );
}

#[tokio::test]
async fn rate_limits_count_within_a_window() {
    let tables = tables().await;
    let limits = tables.rate_limits();
    assert!(limits.try_acquire("one", 1, 60, NOW).await.unwrap());
    assert!(!limits.try_acquire("one", 1, 60, NOW).await.unwrap());
    assert!(!limits.try_acquire("one", 1, 60, NOW + 59).await.unwrap());
    // The window has passed: a new one starts.
    assert!(limits.try_acquire("one", 1, 60, NOW + 60).await.unwrap());
    assert!(!limits.try_acquire("one", 1, 60, NOW + 61).await.unwrap());
    // Keys are counted apart; a zero limit lets nothing through.
    assert!(limits.try_acquire("two", 1, 60, NOW).await.unwrap());
    assert!(!limits.try_acquire("zero", 0, 60, NOW).await.unwrap());

    // Limit 3: the fourth in the window is refused, also when they race.
    for round in 0..3 {
        let key = format!("ip#192.0.2.{round}");
        let mut racing = JoinSet::new();
        for _ in 0..10 {
            let limits = limits.clone();
            let key = key.clone();
            racing.spawn(async move { limits.try_acquire(&key, 3, 3600, NOW).await.unwrap() });
        }
        let granted = racing.join_all().await.into_iter().filter(|g| *g).count();
        assert_eq!(granted, 3, "{key}");
    }

    // A long key is stored bounded and still counted.
    let long = "k".repeat(5000);
    assert!(limits.try_acquire(&long, 1, 60, NOW).await.unwrap());
    assert!(!limits.try_acquire(&long, 1, 60, NOW).await.unwrap());
    let other = format!("{long}x");
    assert!(limits.try_acquire(&other, 1, 60, NOW).await.unwrap());
    let keys: Vec<String> = scan(&tables, &tables.names.revoked_tokens)
        .await
        .into_iter()
        .map(|item| item["jti"].clone())
        .collect();
    assert!(keys.iter().all(|k| k.len() <= 600), "{keys:?}");
}

// ---------------------------------------------------------------- lost answers

/// Requests to lose the answer of, by operation (`TransactWriteItems`, `PutItem`, ...):
/// how many of the next ones.
type Losses = Arc<Mutex<HashMap<String, u32>>>;

/// A proxy to DynamoDB Local that forwards every request and, for the operations in
/// `Losses`, closes the connection instead of answering once DynamoDB has applied it:
/// a write that landed and whose answer was lost, which the SDK sends again.
async fn lossy_proxy(upstream: String) -> (String, Losses) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let losses = Losses::default();
    let lose = losses.clone();
    let upstream = upstream.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (lose, upstream) = (lose.clone(), upstream.clone());
            tokio::spawn(async move {
                while let Some((request, head)) = read_message(&mut client).await {
                    let operation = header(&head, "x-amz-target")
                        .and_then(|t| t.rsplit('.').next().map(str::to_owned))
                        .unwrap_or_default();
                    let mut server = TcpStream::connect(&upstream).await.unwrap();
                    server.write_all(&request).await.unwrap();
                    let (response, _) = read_message(&mut server).await.unwrap();
                    let lost = {
                        let mut lose = lose.lock().unwrap();
                        match lose.get_mut(&operation) {
                            Some(left) if *left > 0 => {
                                *left -= 1;
                                true
                            }
                            _ => false,
                        }
                    };
                    if lost {
                        return; // Applied, never answered: the connection just closes.
                    }
                    client.write_all(&response).await.unwrap();
                }
            });
        }
    });
    (address, losses)
}

/// One HTTP/1.1 message with a Content-Length body (what the SDK and DynamoDB Local send):
/// its bytes and its head.
async fn read_message(stream: &mut TcpStream) -> Option<(Vec<u8>, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length: usize = header(&head, "content-length")
        .map(|l| l.parse().unwrap())
        .unwrap_or(0);
    while buf.len() < end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((buf, head))
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// Tables (on DynamoDB Local directly) and the same tables through a lossy proxy.
async fn lossy_tables() -> (Tables, Tables, Losses) {
    let direct = tables().await;
    let (proxy, losses) = lossy_proxy(endpoint()).await;
    let conf = direct
        .client
        .config()
        .to_builder()
        .endpoint_url(proxy)
        .build();
    let lossy = Tables::new(Client::from_conf(conf), direct.names.clone());
    (direct, lossy, losses)
}

fn lose(losses: &Losses, operation: &str) {
    losses.lock().unwrap().insert(operation.to_owned(), 1);
}

/// Whether every loss asked for happened (so the retry really was a retry).
fn all_lost(losses: &Losses) -> bool {
    losses.lock().unwrap().values().all(|left| *left == 0)
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_answers_as_it_landed() {
    let (direct, lossy, losses) = lossy_tables().await;
    let accounts = lossy.accounts();

    lose(&losses, "TransactWriteItems");
    let rupert = user("rupert", Some("rupert@example.com"));
    assert_eq!(accounts.create(&rupert).await.unwrap(), Created::Created);
    assert!(all_lost(&losses));

    lose(&losses, "TransactWriteItems");
    assert_eq!(
        accounts
            .change_email("rupert", "rupert@new.example")
            .await
            .unwrap(),
        EmailChange::Changed
    );
    assert!(all_lost(&losses));
    assert!(!mentions(&direct, &direct.names.users, "rupert@example.com").await);

    lose(&losses, "UpdateItem");
    assert!(accounts
        .set_disabled("rupert", true)
        .await
        .unwrap()
        .is_some());
    lose(&losses, "UpdateItem");
    assert!(accounts
        .mark_email_verified("rupert", "rupert@new.example")
        .await
        .unwrap());
    assert!(all_lost(&losses));

    lose(&losses, "TransactWriteItems");
    assert!(accounts.delete("rupert").await.unwrap());
    assert!(all_lost(&losses));
    assert!(!mentions(&direct, &direct.names.users, "rupert").await);

    let tokens = lossy.one_time_tokens();
    let reset = token(Purpose::ResetPassword, "sybil", NOW + 600);
    lose(&losses, "PutItem");
    tokens.issue("lost", &reset).await.unwrap();
    lose(&losses, "TransactWriteItems");
    assert_eq!(
        tokens.spend("lost", &Purpose::ALL, NOW).await.unwrap(),
        Some(reset)
    );
    assert!(all_lost(&losses));
    assert!(scan(&direct, &direct.names.revoked_tokens).await.is_empty());

    // A limit of one: the use whose answer was lost is the one counted, and it was ours.
    let limits = lossy.rate_limits();
    lose(&losses, "PutItem");
    assert!(limits.try_acquire("lost", 1, 60, NOW).await.unwrap());
    assert!(all_lost(&losses));
    assert!(!limits.try_acquire("lost", 1, 60, NOW).await.unwrap());
    lose(&losses, "UpdateItem");
    assert!(limits.try_acquire("lost2", 2, 60, NOW).await.unwrap());
    assert!(limits.try_acquire("lost2", 2, 60, NOW).await.unwrap());
    assert!(all_lost(&losses));
    assert!(!limits.try_acquire("lost2", 2, 60, NOW).await.unwrap());
}
