//! The second factor against DynamoDB Local (started by `make test`): the TOTP factor and
//! recovery codes on the users table, `mfa_token`s on the revoked-tokens table, held to
//! the in-memory twins' answers. Each test has tables of its own.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use wristband_core::config::TableNames;
use wristband_core::ids::random_id;
use wristband_core::mfa::{base32, new_secret, MfaKey};
use wristband_core::store::UserRegistry as _;
use wristband_core::store::{
    Created, MfaChallenge, MfaChallengeStore, MfaStore, TotpFactor, UserRecord, UserStore,
    MFA_MAX_FAILURES,
};
use wristband_dynamodb::{ensure_tables, Tables};
use wristband_test_support::{InMemoryMfaChallenges, InMemoryUsers};

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
        users: format!("mfa-{run}-users"),
        revoked_tokens: format!("mfa-{run}-revoked"),
        sessions: format!("mfa-{run}-sessions"),
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

fn user(username: &str) -> UserRecord {
    UserRecord {
        username: username.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        created_at: 1_800_000_000,
        roles: vec!["user".into()],
        creation_id: id(),
        email: Some(format!("{username}@example.com")),
        email_verified: true,
        disabled: false,
        totp: None,
        totp_pending: None,
        recovery_codes: Vec::new(),
        passkeys: Vec::new(),
    }
}

/// `MFA_ENCRYPTION_KEY` of the tests: bytes 0 to 31.
fn key() -> MfaKey {
    MfaKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
}

fn hashes(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|code| key().recovery_code_hash("any", code))
        .collect()
}

/// The user's item as stored, every attribute.
async fn raw_item(tables: &Tables, key: &str) -> Option<HashMap<String, AttributeValue>> {
    tables
        .client
        .get_item()
        .table_name(&tables.names.users)
        .key("username", AttributeValue::S(key.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
}

async fn attribute_names(tables: &Tables, key: &str) -> BTreeSet<String> {
    raw_item(tables, key)
        .await
        .unwrap_or_else(|| panic!("{key}'s item"))
        .into_keys()
        .collect()
}

/// Every item of the revoked-tokens table, by key.
/// The revoked-tokens table's items that are still usable: a spent `mfa_token` stays until
/// its TTL, marked `spent_by`.
async fn live_items(tables: &Tables) -> HashMap<String, HashMap<String, AttributeValue>> {
    let mut items = revoked_items(tables).await;
    items.retain(|_, item| !item.contains_key("spent_by"));
    items
}

async fn revoked_items(tables: &Tables) -> HashMap<String, HashMap<String, AttributeValue>> {
    let out = tables
        .client
        .scan()
        .table_name(&tables.names.revoked_tokens)
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .map(|item| (item["jti"].as_s().unwrap().clone(), item.clone()))
        .collect()
}

#[tokio::test]
async fn enrolment_round_trip_stores_only_the_sealed_secret() {
    let tables = tables().await;
    let (users, mfa) = (tables.users(), tables.mfa());
    assert_eq!(users.create(&user("ann")).await.unwrap(), Created::Created);
    let plain_attributes = attribute_names(&tables, "ann").await;
    let key = key();

    let first = key.seal("ann", &new_secret().unwrap()).unwrap();
    assert!(mfa.set_pending_totp("ann", &first).await.unwrap());
    let ann = users.get("ann").await.unwrap().unwrap();
    assert_eq!(ann.totp_pending.as_deref(), Some(first.as_str()));
    assert_eq!(ann.totp, None);

    // A newer enrolment replaces the pending secret; the older one no longer activates.
    let secret = new_secret().unwrap();
    let sealed = key.seal("ann", &secret).unwrap();
    assert!(mfa.set_pending_totp("ann", &sealed).await.unwrap());
    let codes = hashes(&["abcdeabcde", "fghijfghij", "klmnoklmno"]);
    assert!(!mfa.activate_totp("ann", &first, 7, &codes).await.unwrap());
    assert!(mfa.activate_totp("ann", &sealed, 7, &codes).await.unwrap());

    let ann = users.get("ann").await.unwrap().unwrap();
    assert_eq!(
        ann.totp,
        Some(TotpFactor {
            sealed_secret: sealed.clone(),
            last_step: 7,
        })
    );
    assert_eq!(ann.totp_pending, None);
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(ann.recovery_codes, sorted);
    assert_eq!(
        key.open("ann", &ann.totp.unwrap().sealed_secret).unwrap(),
        secret
    );

    // What is stored is the sealed text, never the secret.
    let item = raw_item(&tables, "ann").await.unwrap();
    assert_eq!(item["totp_secret"], AttributeValue::S(sealed.clone()));
    assert_eq!(item["totp_last_step"], AttributeValue::N("7".into()));
    assert!(!item.contains_key("totp_pending"));
    let mut stored_codes = item["recovery_codes"].as_ss().unwrap().clone();
    stored_codes.sort();
    assert_eq!(stored_codes, sorted);
    let clear = base32(&secret);
    let dump = format!("{item:?}");
    assert!(!dump.contains(&clear), "the clear secret is stored");
    assert!(
        !dump.contains("abcdeabcde"),
        "a clear recovery code is stored"
    );

    // With a factor active: no new enrolment, no second activation.
    let other = key.seal("ann", &new_secret().unwrap()).unwrap();
    assert!(!mfa.set_pending_totp("ann", &other).await.unwrap());
    assert!(!mfa.activate_totp("ann", &sealed, 9, &[]).await.unwrap());
    assert_eq!(
        users
            .get("ann")
            .await
            .unwrap()
            .unwrap()
            .totp
            .unwrap()
            .last_step,
        7
    );

    // Removal leaves the user as it was before its enrolment.
    mfa.remove_totp("ann").await.unwrap();
    assert_eq!(attribute_names(&tables, "ann").await, plain_attributes);
    let ann = users.get("ann").await.unwrap().unwrap();
    assert_eq!((ann.totp, ann.totp_pending), (None, None));
    assert!(ann.recovery_codes.is_empty());
    mfa.remove_totp("ann").await.unwrap();
    // And it may enrol again.
    assert!(mfa.set_pending_totp("ann", &other).await.unwrap());
    assert!(mfa.activate_totp("ann", &other, 1, &[]).await.unwrap());
    assert!(!attribute_names(&tables, "ann")
        .await
        .contains("recovery_codes"));

    // No user, no item: nothing is made for a missing name or an address claim.
    for name in ["nobody", "email#ann@example.com"] {
        assert!(!mfa.set_pending_totp(name, &other).await.unwrap());
        assert!(!mfa.activate_totp(name, &other, 1, &codes).await.unwrap());
        assert!(!mfa.use_totp_step(name, 2).await.unwrap());
        assert!(!mfa.use_recovery_code(name, &codes[0]).await.unwrap());
        assert!(!mfa.replace_recovery_codes(name, &codes).await.unwrap());
        mfa.remove_totp(name).await.unwrap();
    }
    assert!(raw_item(&tables, "nobody").await.is_none());
    assert_eq!(
        attribute_names(&tables, "email#ann@example.com").await,
        ["creation_id", "owner", "username"]
            .map(str::to_owned)
            .into()
    );
}

/// One call of the factor's store, for the twin test.
#[derive(Clone, Debug)]
enum Op {
    SetPending(&'static str, &'static str),
    Activate(&'static str, &'static str, u64, &'static [&'static str]),
    UseStep(&'static str, u64),
    UseCode(&'static str, &'static str),
    Replace(&'static str, &'static [&'static str]),
    Remove(&'static str),
}

async fn apply(store: &dyn MfaStore, op: &Op) -> Option<bool> {
    let h = |codes: &[&str]| hashes(codes);
    Some(match *op {
        Op::SetPending(u, sealed) => store.set_pending_totp(u, sealed).await.unwrap(),
        Op::Activate(u, sealed, step, codes) => store
            .activate_totp(u, sealed, step, &h(codes))
            .await
            .unwrap(),
        Op::UseStep(u, step) => store.use_totp_step(u, step).await.unwrap(),
        Op::UseCode(u, code) => store.use_recovery_code(u, &h(&[code])[0]).await.unwrap(),
        Op::Replace(u, codes) => store.replace_recovery_codes(u, &h(codes)).await.unwrap(),
        Op::Remove(u) => {
            store.remove_totp(u).await.unwrap();
            return None;
        }
    })
}

/// A user as both stores should read it: recovery codes are a set.
fn normal(user: Option<UserRecord>) -> Option<UserRecord> {
    user.map(|mut user| {
        user.recovery_codes.sort();
        user.recovery_codes.dedup();
        user
    })
}

#[tokio::test]
async fn the_factor_answers_as_its_memory_twin() {
    use Op::*;
    let script = [
        // No factor yet.
        UseStep("ann", 5),
        UseCode("ann", "c1"),
        Replace("ann", &["c1"]),
        Activate("ann", "s1", 5, &["c1"]),
        SetPending("ann", "s1"),
        SetPending("ann", "s2"),
        Activate("ann", "s1", 5, &["c1"]),
        Activate("ann", "s2", 5, &["c1", "c2", "c3", "c3"]),
        // Active.
        SetPending("ann", "s3"),
        Activate("ann", "s2", 6, &[]),
        UseStep("ann", 5),
        UseStep("ann", 4),
        UseStep("ann", 6),
        UseStep("ann", 6),
        UseStep("ann", 100),
        UseStep("ann", 99),
        UseCode("ann", "c2"),
        UseCode("ann", "c2"),
        UseCode("ann", "c9"),
        UseCode("ann", "c3"),
        Replace("ann", &["c4", "c5"]),
        UseCode("ann", "c1"),
        UseCode("ann", "c4"),
        UseCode("ann", "c5"),
        UseCode("ann", "c5"),
        Replace("ann", &["c6"]),
        Replace("ann", &[]),
        UseCode("ann", "c6"),
        // Removed, and enrolled again.
        Remove("ann"),
        Remove("ann"),
        UseStep("ann", 200),
        UseCode("ann", "c6"),
        Replace("ann", &["c7"]),
        SetPending("ann", "s4"),
        Remove("ann"),
        Activate("ann", "s4", 1, &[]),
        SetPending("ann", "s5"),
        Activate("ann", "s5", 1, &[]),
        UseStep("ann", 1),
        UseStep("ann", 2),
        UseCode("ann", "c1"),
        Replace("ann", &["c8"]),
        UseCode("ann", "c8"),
        // No such user.
        SetPending("nobody", "s1"),
        Activate("nobody", "s1", 1, &["c1"]),
        UseStep("nobody", 1),
        UseCode("nobody", "c1"),
        Replace("nobody", &["c1"]),
        Remove("nobody"),
    ];
    let tables = tables().await;
    let (dynamo_users, dynamo) = (tables.users(), tables.mfa());
    let memory = InMemoryUsers::default();
    let ann = user("ann");
    dynamo_users.create(&ann).await.unwrap();
    memory.create(&ann).await.unwrap();
    for (i, op) in script.iter().enumerate() {
        let expected = apply(&memory, op).await;
        assert_eq!(
            apply(dynamo.as_ref(), op).await,
            expected,
            "step {i}: {op:?}"
        );
        for name in ["ann", "nobody"] {
            assert_eq!(
                normal(dynamo_users.get(name).await.unwrap()),
                normal(memory.get(name).await.unwrap()),
                "{name} after step {i}: {op:?}"
            );
        }
    }
}

/// A user with an active factor at `step` and recovery codes `codes`.
async fn enrolled(tables: &Tables, username: &str, step: u64, codes: &[String]) {
    tables.users().create(&user(username)).await.unwrap();
    let sealed = key().seal(username, &new_secret().unwrap()).unwrap();
    let mfa = tables.mfa();
    assert!(mfa.set_pending_totp(username, &sealed).await.unwrap());
    assert!(mfa
        .activate_totp(username, &sealed, step, codes)
        .await
        .unwrap());
}

#[tokio::test]
async fn of_concurrent_uses_of_one_step_one_wins() {
    let tables = tables().await;
    enrolled(&tables, "bob", 1000, &[]).await;
    let mfa = tables.mfa();
    for round in 1..=3 {
        let step = 1000 + round;
        let mut racing = JoinSet::new();
        for _ in 0..20 {
            let mfa = mfa.clone();
            racing.spawn(async move { mfa.use_totp_step("bob", step).await.unwrap() });
        }
        let won = racing.join_all().await.into_iter().filter(|w| *w).count();
        assert_eq!(won, 1, "round {round}");
        assert!(
            !mfa.use_totp_step("bob", step).await.unwrap(),
            "the same step"
        );
        assert!(
            !mfa.use_totp_step("bob", step - 1).await.unwrap(),
            "an earlier step"
        );
    }
    assert!(
        mfa.use_totp_step("bob", 1010).await.unwrap(),
        "a later step"
    );
    let bob = tables.users().get("bob").await.unwrap().unwrap();
    assert_eq!(bob.totp.unwrap().last_step, 1010);
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let tables = tables().await;
    let codes = hashes(&["c1", "c2", "c3"]);
    enrolled(&tables, "carol", 1, &codes).await;
    let mfa = tables.mfa();

    assert!(mfa.use_recovery_code("carol", &codes[0]).await.unwrap());
    assert!(!mfa.use_recovery_code("carol", &codes[0]).await.unwrap());
    assert!(!mfa
        .use_recovery_code("carol", &hashes(&["unknown"])[0])
        .await
        .unwrap());

    // Twenty at once with one code: one wins.
    let mut racing = JoinSet::new();
    for _ in 0..20 {
        let (mfa, code) = (mfa.clone(), codes[1].clone());
        racing.spawn(async move { mfa.use_recovery_code("carol", &code).await.unwrap() });
    }
    let won = racing.join_all().await.into_iter().filter(|w| *w).count();
    assert_eq!(won, 1);
    let carol = tables.users().get("carol").await.unwrap().unwrap();
    assert_eq!(carol.recovery_codes, [codes[2].clone()]);

    // New codes void every older one.
    let fresh = hashes(&["n1", "n2"]);
    assert!(mfa.replace_recovery_codes("carol", &fresh).await.unwrap());
    assert!(!mfa.use_recovery_code("carol", &codes[2]).await.unwrap());
    assert!(mfa.use_recovery_code("carol", &fresh[0]).await.unwrap());
    // The last one spent leaves no (empty) set behind.
    assert!(mfa.use_recovery_code("carol", &fresh[1]).await.unwrap());
    assert!(!attribute_names(&tables, "carol")
        .await
        .contains("recovery_codes"));
    assert!(!mfa.use_recovery_code("carol", &fresh[1]).await.unwrap());
    let carol = tables.users().get("carol").await.unwrap().unwrap();
    assert!(carol.recovery_codes.is_empty());
    assert!(carol.totp.is_some(), "the factor stays");

    // No factor, no codes.
    mfa.remove_totp("carol").await.unwrap();
    assert!(!mfa.replace_recovery_codes("carol", &fresh).await.unwrap());
    assert!(!attribute_names(&tables, "carol")
        .await
        .contains("recovery_codes"));
}

const NOW: u64 = 1_800_000_000;

fn challenge(username: &str) -> MfaChallenge {
    MfaChallenge {
        username: username.into(),
        expires_at: NOW + 300,
        failures: 0,
    }
}

#[tokio::test]
async fn an_mfa_token_serves_one_login() {
    let tables = tables().await;
    let challenges = tables.mfa_challenges();
    let dave = challenge("dave");
    challenges.create("t1", &dave).await.unwrap();
    assert_eq!(challenges.get("t1", NOW).await.unwrap(), Some(dave.clone()));
    assert_eq!(challenges.get("unknown", NOW).await.unwrap(), None);
    assert!(challenges.spend("t1", NOW).await.unwrap());
    assert!(!challenges.spend("t1", NOW).await.unwrap());
    assert_eq!(challenges.get("t1", NOW).await.unwrap(), None);
    assert!(!challenges.spend("unknown", NOW).await.unwrap());
    // Failures on a spent or unknown token make no item and change none.
    challenges.record_failure("t1").await.unwrap();
    challenges.record_failure("unknown").await.unwrap();
    assert!(live_items(&tables).await.is_empty());
    let spent = &revoked_items(&tables).await["mfa#t1"];
    assert_eq!(spent["failures"], AttributeValue::N("0".into()));
    assert!(spent.contains_key("expires_at"), "removed by its TTL");

    // Expired: at its expiry and after, dead.
    challenges.create("t2", &dave).await.unwrap();
    assert_eq!(challenges.get("t2", NOW + 300).await.unwrap(), None);
    assert!(!challenges.spend("t2", NOW + 300).await.unwrap());
    assert!(!challenges.spend("t2", NOW + 301).await.unwrap());
    assert!(challenges.spend("t2", NOW + 299).await.unwrap());

    // Stored under its hash's key, with its TTL.
    challenges.create("t3", &dave).await.unwrap();
    let items = revoked_items(&tables).await;
    let item = &items["mfa#t3"];
    assert_eq!(item["username"], AttributeValue::S("dave".into()));
    assert_eq!(
        item["expires_at"],
        AttributeValue::N((NOW + 300).to_string())
    );
}

#[tokio::test]
async fn wrong_codes_kill_an_mfa_token() {
    let tables = tables().await;
    let challenges = tables.mfa_challenges();
    let memory = InMemoryMfaChallenges::default();
    let erin = challenge("erin");
    challenges.create("t", &erin).await.unwrap();
    memory.create("t", &erin).await.unwrap();
    for failures in 1..MFA_MAX_FAILURES {
        challenges.record_failure("t").await.unwrap();
        memory.record_failure("t").await.unwrap();
        let live = challenges.get("t", NOW).await.unwrap();
        assert_eq!(live.as_ref().map(|c| c.failures), Some(failures));
        assert_eq!(live, memory.get("t", NOW).await.unwrap());
    }
    challenges.record_failure("t").await.unwrap();
    memory.record_failure("t").await.unwrap();
    assert_eq!(challenges.get("t", NOW).await.unwrap(), None);
    assert_eq!(memory.get("t", NOW).await.unwrap(), None);
    assert!(!challenges.spend("t", NOW).await.unwrap());
    assert!(!memory.spend("t", NOW).await.unwrap());
    challenges.record_failure("t").await.unwrap();
    assert_eq!(challenges.get("t", NOW).await.unwrap(), None);

    // Four wrong codes, then the right one: still one login.
    challenges.create("u", &erin).await.unwrap();
    for _ in 1..MFA_MAX_FAILURES {
        challenges.record_failure("u").await.unwrap();
    }
    assert!(challenges.spend("u", NOW).await.unwrap());
}

#[tokio::test]
async fn of_concurrent_spends_of_an_mfa_token_one_wins() {
    let tables = tables().await;
    let challenges = tables.mfa_challenges();
    for round in 0..3 {
        let hash = format!("race{round}");
        challenges.create(&hash, &challenge("frank")).await.unwrap();
        let mut racing = JoinSet::new();
        for _ in 0..20 {
            let (challenges, hash) = (challenges.clone(), hash.clone());
            racing.spawn(async move { challenges.spend(&hash, NOW).await.unwrap() });
        }
        let won = racing.join_all().await.into_iter().filter(|w| *w).count();
        assert_eq!(won, 1, "round {round}");
    }
    assert!(live_items(&tables).await.is_empty());
}

// ---------------------------------------------------------------- lost answers
// (the lossy proxy of tests/accounts.rs)

/// Requests to lose the answer of, by operation (`UpdateItem`, ...): how many of the next
/// ones.
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

/// One HTTP/1.1 message with a Content-Length body: its bytes and its head.
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
async fn a_second_factor_write_whose_answer_was_lost_answers_as_it_landed() {
    let (direct, lossy, losses) = lossy_tables().await;
    direct.users().create(&user("gina")).await.unwrap();
    let mfa = lossy.mfa();
    let sealed = key().seal("gina", &new_secret().unwrap()).unwrap();
    let codes = hashes(&["c1", "c2"]);

    lose(&losses, "UpdateItem");
    assert!(mfa.set_pending_totp("gina", &sealed).await.unwrap());
    assert!(all_lost(&losses));
    lose(&losses, "UpdateItem");
    assert!(mfa
        .activate_totp("gina", &sealed, 10, &codes)
        .await
        .unwrap());
    assert!(all_lost(&losses));
    lose(&losses, "UpdateItem");
    assert!(mfa.use_totp_step("gina", 11).await.unwrap());
    assert!(all_lost(&losses));
    assert!(!mfa.use_totp_step("gina", 11).await.unwrap());
    lose(&losses, "UpdateItem");
    assert!(mfa.use_recovery_code("gina", &codes[0]).await.unwrap());
    assert!(all_lost(&losses));
    assert!(!mfa.use_recovery_code("gina", &codes[0]).await.unwrap());
    lose(&losses, "UpdateItem");
    assert!(mfa.replace_recovery_codes("gina", &codes).await.unwrap());
    assert!(all_lost(&losses));
    let gina = direct.users().get("gina").await.unwrap().unwrap();
    assert_eq!(gina.totp.unwrap().last_step, 11);
    assert_eq!(gina.recovery_codes.len(), 2);
    lose(&losses, "UpdateItem");
    mfa.remove_totp("gina").await.unwrap();
    assert!(all_lost(&losses));
    assert!(direct
        .users()
        .get("gina")
        .await
        .unwrap()
        .unwrap()
        .totp
        .is_none());

    // A wrong code whose answer was lost is counted once.
    let challenges = lossy.mfa_challenges();
    challenges.create("t", &challenge("gina")).await.unwrap();
    lose(&losses, "UpdateItem");
    challenges.record_failure("t").await.unwrap();
    assert!(all_lost(&losses));
    assert_eq!(
        challenges.get("t", NOW).await.unwrap().map(|c| c.failures),
        Some(1)
    );
    // A spend whose answer was lost is the caller's.
    lose(&losses, "UpdateItem");
    assert!(challenges.spend("t", NOW).await.unwrap());
    assert!(all_lost(&losses));
    assert!(!challenges.spend("t", NOW).await.unwrap());
}
