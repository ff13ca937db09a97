//! The one revocation check (no SDK) against DynamoDB Local, on items the SDK store
//! writes: every kind of revocation refuses exactly the tokens it should.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials as SdkCredentials, Region};
use wristband_core::config::TableNames;
use wristband_core::ids::random_id;
use wristband_core::store::{
    RevocationCheck, RevocationStore, SessionEnder, SessionRecord, SessionStore,
};
use wristband_core::{Claims, StoreError, TokenType};
use wristband_dynamodb::{ensure_tables, DynamoDbRevokedTokens};
use wristband_dynamodb_lite::env::AwsEnv;
use wristband_dynamodb_lite::tls::Roots;
use wristband_dynamodb_lite::{DynamoDbHttp, LiteRevokedTokens, LiteSessionEnder, Policy};

const ENDPOINT_VAR: &str = "WRISTBAND_TEST_DYNAMODB_ENDPOINT";

fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!("{ENDPOINT_VAR} is not set: run the tests with `make test`, which starts DynamoDB Local")
    })
}

fn wire(endpoint: &str, table: &str) -> LiteRevokedTokens {
    let env = AwsEnv::dynamodb_local(endpoint);
    let http = DynamoDbHttp::new(env, Roots::Platform, Policy::default()).unwrap();
    LiteRevokedTokens::new(Arc::new(http), table)
}

async fn tables() -> (aws_sdk_dynamodb::Client, String) {
    let (client, names) = all_tables().await;
    (client, names.revoked_tokens)
}

async fn all_tables() -> (aws_sdk_dynamodb::Client, TableNames) {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(SdkCredentials::new("dummy", "dummy", None, None, "tests"))
        .http_client(wristband_dynamodb::https_client())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let run: String = random_id()
        .unwrap()
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let names = TableNames {
        users: format!("wire-{run}-users"),
        revoked_tokens: format!("wire-{run}-revoked"),
        sessions: format!("wire-{run}-sessions"),
    };
    ensure_tables(&client, &names).await.unwrap();
    (client, names)
}

fn claims(sub: &str, iat: u64) -> Claims {
    Claims {
        iss: "wristband-local".into(),
        aud: "wristband-clients".into(),
        sub: sub.into(),
        jti: random_id().unwrap(),
        iat,
        nbf: iat,
        exp: iat + 900,
        token_type: TokenType::Access,
        fresh: Some(true),
        sid: random_id().unwrap(),
        roles: vec![],
        amr: vec![],
        csrf: None,
    }
}

#[tokio::test]
async fn same_answers_as_the_sdk_store() {
    let (client, table) = tables().await;
    let sdk = DynamoDbRevokedTokens::new(client, table.clone());
    let wire = wire(&endpoint(), &table);
    let now = 1_800_000_000;

    let mut cases: Vec<(&str, Claims, bool)> = Vec::new();
    cases.push(("nothing revoked", claims("alice", now - 10), false));

    let c = claims("bob", now - 10);
    sdk.revoke_token(&c.jti, now + 100).await.unwrap();
    cases.push(("jti revoked", c, true));

    let c = claims("carol", now - 10);
    sdk.revoke_token(&c.jti, now).await.unwrap();
    cases.push(("jti revoked, past its TTL", c, false));

    let c = claims("dave", now - 10);
    sdk.revoke_session(&c.sid, now + 100).await.unwrap();
    cases.push(("session ended", c, true));

    let c = claims("erin", now - 10);
    sdk.revoke_session(&c.sid, now - 1).await.unwrap();
    cases.push(("session ended, past its TTL", c, false));

    // One cutoff for "frank" (cutoff now - 5), three tokens around it.
    sdk.revoke_user_tokens_before("frank", now - 5, now + 100)
        .await
        .unwrap();
    cases.push(("issued before the cutoff", claims("frank", now - 6), true));
    cases.push(("issued at the cutoff", claims("frank", now - 5), false));
    cases.push(("issued after the cutoff", claims("frank", now - 4), false));

    sdk.revoke_user_tokens_before("grace", now - 5, now - 1)
        .await
        .unwrap();
    cases.push(("cutoff past its TTL", claims("grace", now - 6), false));

    // Names that JSON must escape, and another user's cutoff.
    let odd = "é\"\\ \u{1F600}#user#frank";
    sdk.revoke_user_tokens_before(odd, now - 5, now + 100)
        .await
        .unwrap();
    cases.push(("odd name, before its cutoff", claims(odd, now - 6), true));
    cases.push(("frank#x is not frank", claims("frank#x", now - 6), false));

    for (what, claims, expected) in &cases {
        let by_wire = wire.is_revoked(claims, now).await.unwrap();
        assert_eq!(by_wire, *expected, "{what}");
    }
}

#[tokio::test]
async fn a_missing_table_fails_closed() {
    let wire = wire(&endpoint(), "no-such-table-here");
    let err = wire
        .is_revoked(&claims("alice", 1_800_000_000), 1_800_000_000)
        .await
        .expect_err("no table, no answer");
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_closed_within_the_budget() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let wire = wire(&dead, "revoked");
    let started = Instant::now();
    let err = wire
        .is_revoked(&claims("alice", 1_800_000_000), 1_800_000_000)
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn wrong_answers_fail_closed() {
    // A server that answers 200 with something that is not a BatchGetItem answer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let body = r#"{"Responses": "not a map"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = tcp.write_all(answer.as_bytes()).await;
            });
        }
    });
    let wire = wire(&format!("http://{addr}"), "revoked");
    let err = wire
        .is_revoked(&claims("alice", 1_800_000_000), 1_800_000_000)
        .await
        .expect_err("not an answer");
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
}

/// The writes of `/oauth/revoke` without the SDK: a token's jti and a session's end (its
/// revocation, then its item gone from the sessions table), read back by the one check
/// and by the SDK sessions store.
#[tokio::test]
async fn lite_writes_revoke_tokens_and_end_sessions() {
    let (client, names) = all_tables().await;
    let env = AwsEnv::dynamodb_local(&endpoint());
    let http = Arc::new(DynamoDbHttp::new(env, Roots::Platform, Policy::default()).unwrap());
    let lite = LiteRevokedTokens::new(http.clone(), &names.revoked_tokens);
    let now = 1_800_000_000;

    let token = claims("alice", now);
    assert!(!lite.is_revoked(&token, now).await.unwrap());
    lite.revoke_token(&token.jti, token.exp).await.unwrap();
    assert!(lite.is_revoked(&token, now).await.unwrap());
    // Again: a put of the same item changes nothing.
    lite.revoke_token(&token.jti, token.exp).await.unwrap();

    let sessions = wristband_dynamodb::DynamoDbSessions::new(client, &names.sessions);
    let session = claims("bob", now);
    let record = SessionRecord {
        username: "bob".into(),
        sid: session.sid.clone(),
        created_at: now,
        last_refreshed_at: now,
        expires_at: u64::MAX / 2,
        user_agent: None,
        source_ip: None,
        refresh_jti: random_id().unwrap(),
    };
    sessions.create(&record).await.unwrap();
    assert_eq!(sessions.list("bob", now).await.unwrap().len(), 1);
    let ender = LiteSessionEnder::new(http, &names.revoked_tokens, &names.sessions);
    ender
        .end_sessions(&[SessionRecord::from_token("bob", &session.sid, now + 3600)])
        .await
        .unwrap();
    assert!(lite.is_revoked(&session, now).await.unwrap());
    assert!(sessions.list("bob", now).await.unwrap().is_empty());
}
